//! A modal dialog on the browser's own `<dialog>`: it keeps focus inside, closes on Escape and
//! returns focus to what opened it.

use leptos::prelude::*;

/// A dialog shown while `open` holds. Its content is made afresh each time it opens, so nothing
/// typed into it (a value, say) outlives a closing.
#[component]
pub fn Modal(id: &'static str, title: String, open: RwSignal<bool>, children: ChildrenFn) -> impl IntoView {
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    Effect::new(move |_| {
        let Some(dialog) = dialog.get() else { return };
        match (open.get(), dialog.open()) {
            (true, false) => {
                let _ = dialog.show_modal();
            }
            (false, true) => dialog.close(),
            _ => {}
        }
    });
    let heading = format!("{id}-title");
    view! {
        <dialog id=id node_ref=dialog class="modal" aria-labelledby=heading.clone() on:close=move |_| open.set(false)>
            <h2 id=heading.clone() class="mb-4 text-lg font-semibold">{title}</h2>
            {move || open.get().then(|| children())}
        </dialog>
    }
}
