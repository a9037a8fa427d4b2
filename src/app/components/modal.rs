//! A modal dialog on the browser's own `<dialog>`: it keeps focus inside, closes on Escape and
//! returns focus to what opened it.

use leptos::prelude::*;

use super::form::FormError;

/// A dialog shown while `open` holds; `id` must be unique on the page (it names the dialog). Its content is made afresh each time it opens, so nothing
/// typed into it (a value, say) outlives a closing.
#[component]
pub fn Modal(#[prop(into)] id: String, title: String, open: RwSignal<bool>, children: ChildrenFn) -> impl IntoView {
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

/// A dialog form's error line and buttons: Cancel, and the submit button showing `busy` while
/// `pending`.
#[component]
pub fn DialogButtons(label: &'static str, busy: &'static str, pending: Signal<bool>, open: RwSignal<bool>, #[prop(optional)] danger: bool) -> impl IntoView {
    view! {
        <FormError />
        <div class="mt-6 flex justify-end gap-3">
            <button type="button" class="btn-secondary" on:click=move |_| open.set(false)>"Cancel"</button>
            <button type="submit" class=if danger { "btn-danger" } else { "btn-primary" } disabled=pending>
                {move || if pending.get() { busy } else { label }}
            </button>
        </div>
    }
}
