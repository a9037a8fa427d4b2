//! Keyhold: a Kubernetes-native credentials manager.
//!
//! The crate is compiled twice by cargo-leptos: with `ssr` into the server binary and with `hydrate`
//! into the WASM bundle. `app` and `domain` are shared by both; `server`, `embedded`, `cli` and
//! `private_files` exist only in the binary.

#![recursion_limit = "256"]

pub mod app;
pub mod domain;

#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod embedded;
#[cfg(feature = "ssr")]
pub mod private_files;
#[cfg(feature = "ssr")]
pub mod server;

/// Entry point of the WASM bundle: attach the reactive system to the server-rendered HTML.
#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        app::reload_after_failed_chunk(info);
    }));
    // As `leptos::mount::hydrate_lazy`, then the mark: a lazy route hydrates once its chunk has loaded.
    wasm_bindgen_futures::spawn_local(async {
        let body = leptos::prelude::document().body().expect("the page has a body");
        let owner = leptos::mount::hydrate_from_async(body, app::App).await;
        app::mark_hydrated();
        owner.forget();
    });
}
