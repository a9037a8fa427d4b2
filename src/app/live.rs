//! Live pages: the server says when credentials change (server-sent events fed by its watch
//! caches) and the page re-reads.

/// Calls `on_change` whenever the server reports a change to the credentials. Only the browser
/// follows changes; the server renders once.
pub fn follow_changes(on_change: impl Fn() + Clone + 'static) {
    #[cfg(feature = "hydrate")]
    leptos::prelude::Effect::new(move |_| {
        use leptos::prelude::*;
        use wasm_bindgen::JsCast;
        use wasm_bindgen::closure::Closure;
        let Ok(source) = web_sys::EventSource::new("/api/events/credentials") else { return };
        let on_change = Closure::<dyn Fn()>::new(on_change.clone());
        // A (re)connection re-reads too: whatever changed between the page's render and the
        // stream's opening would be missed otherwise.
        for event in ["open", "changed"] {
            let _ = source.add_event_listener_with_callback(event, on_change.as_ref().unchecked_ref());
        }
        let held = StoredValue::new_local((source, on_change));
        on_cleanup(move || held.with_value(|(source, _)| source.close()));
    });
    #[cfg(not(feature = "hydrate"))]
    let _ = on_change;
}
