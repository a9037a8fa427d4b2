//! Form fields checked as people type, by the same domain rules the server applies, with the
//! server's answer placed next to the field it names.

use std::collections::HashSet;

use leptos::prelude::*;

use crate::domain::AppError;
use crate::domain::credential::FieldError;

/// A form's checking state, shared with its fields through context: the domain's problems with the
/// current input, the fields people have typed in, whether they tried to submit, and the server's
/// last refusal.
#[derive(Clone, Copy)]
pub struct FormCheck {
    problems: Memo<Vec<FieldError>>,
    touched: RwSignal<HashSet<String>>,
    submitted: RwSignal<bool>,
    server: RwSignal<Option<AppError>>,
    /// The fields on screen, so a refusal naming another one is shown above the form.
    shown: StoredValue<HashSet<String>>,
}

impl FormCheck {
    /// A check over `problems`, provided to the fields rendered inside the caller.
    pub fn provide(problems: impl Fn() -> Vec<FieldError> + Send + Sync + 'static) -> Self {
        let check = FormCheck { problems: Memo::new(move |_| problems()), touched: RwSignal::default(), submitted: RwSignal::new(false), server: RwSignal::new(None), shown: StoredValue::default() };
        provide_context(check);
        check
    }

    /// The message to show next to `field`: the server's, or the first rule it breaks once the
    /// person typed in it or tried to submit.
    pub fn error(&self, field: &str) -> Option<String> {
        if let Some(e) = self.server.read().as_ref().filter(|e| e.field() == Some(field)) {
            return Some(e.message());
        }
        let shown = self.submitted.get() || self.touched.read().contains(field);
        shown.then(|| self.problems.read().iter().find(|p| p.field == field).map(|p| p.message.clone())).flatten()
    }

    pub fn touch(&self, field: &str) {
        if !self.touched.read_untracked().contains(field) {
            self.touched.update(|t| {
                t.insert(field.to_string());
            });
        }
        if self.server.read_untracked().as_ref().is_some_and(|e| e.field() == Some(field)) {
            self.server.set(None);
        }
    }

    /// Marks an attempt to submit; whether the input may go to the server.
    pub fn attempt(&self) -> bool {
        self.submitted.set(true);
        self.server.set(None);
        self.problems.read_untracked().is_empty()
    }

    /// The server refused: its message goes next to its field, or above the form.
    pub fn refused(&self, error: AppError) {
        self.server.set(Some(error));
    }

    /// The server's refusal when it names no field on screen, for above the form's buttons.
    pub fn general(&self) -> Option<String> {
        let server = self.server.read();
        let error = server.as_ref()?;
        let placed = error.field().is_some_and(|f| self.shown.with_value(|shown| shown.contains(f)));
        (!placed).then(|| error.message())
    }

    /// Notes that `field` is on screen until the calling component goes.
    fn show(&self, field: &str) {
        self.shown.update_value(|shown| {
            shown.insert(field.to_string());
        });
        let (shown, field) = (self.shown, field.to_string());
        on_cleanup(move || {
            shown.try_update_value(|shown| shown.remove(&field));
        });
    }
}

/// The `id` of a field's message, for `aria-describedby`.
fn error_id(id: &str) -> String {
    format!("{id}-error")
}

/// A labelled text input bound to `value`, with its message. `field` is the domain's name for it;
/// `secret` makes it a password input with a show/hide toggle, never prefilled.
#[component]
pub fn Field(
    label: &'static str,
    field: String,
    id: String,
    value: RwSignal<String>,
    #[prop(optional)] secret: bool,
    #[prop(optional_no_strip)] hint: Option<&'static str>,
    #[prop(optional)] multiline: bool,
) -> impl IntoView {
    let check = expect_context::<FormCheck>();
    let shown = RwSignal::new(false);
    check.show(&field);
    let error = {
        let field = field.clone();
        Memo::new(move |_| check.error(&field))
    };
    let on_input = move |ev| {
        value.set(event_target_value(&ev));
        check.touch(&field);
    };
    let described = error_id(&id);
    let input = if multiline {
        // A textarea has no password mode: a hidden secret one masks its characters instead.
        let masked = move || if secret && !shown.get() { "-webkit-text-security: disc" } else { "" };
        view! {
            <textarea id=id.clone() rows="3" class="input w-full font-mono text-xs" style=masked spellcheck="false" autocomplete="off"
                aria-invalid=move || error.read().is_some().to_string() aria-describedby=described.clone() on:input=on_input prop:value=value></textarea>
        }
        .into_any()
    } else {
        let kind = move || if secret && !shown.get() { "password" } else { "text" };
        view! {
            <input id=id.clone() type=kind autocomplete=if secret { "new-password" } else { "off" } spellcheck="false" class="input w-full"
                aria-invalid=move || error.read().is_some().to_string() aria-describedby=described.clone() on:input=on_input prop:value=value />
        }
        .into_any()
    };
    view! {
        <div>
            <label for=id.clone() class="field-label">{label}</label>
            <div class="flex gap-2">
                {input}
                {secret.then(|| view! {
                    <button type="button" class="btn-secondary" aria-pressed=move || shown.get().to_string() aria-label=format!("Show {label}")
                        on:click=move |_| shown.update(|s| *s = !*s)>
                        {move || if shown.get() { "Hide" } else { "Show" }}
                    </button>
                })}
            </div>
            {hint.map(|h| view! { <p class="field-hint">{h}</p> })}
            <p id=error_id(&id) class="field-error" aria-live="polite">{move || error.get()}</p>
        </div>
    }
}

/// The server's refusal that belongs to no field, above a form's buttons.
#[component]
pub fn FormError() -> impl IntoView {
    let check = expect_context::<FormCheck>();
    move || check.general().map(|message| view! { <p role="alert" class="field-error">{message}</p> })
}

/// The message of a rule about a group of fields (such as "add at least one key").
#[component]
pub fn FieldMessage(field: &'static str) -> impl IntoView {
    let check = expect_context::<FormCheck>();
    check.show(field);
    view! { <p class="field-error" aria-live="polite">{move || check.error(field)}</p> }
}

/// A form's submission: one request at a time, its refusal placed by `check`, and `done`
/// on success.
pub fn submission<I, O>(check: FormCheck, run: impl Fn(&I) -> std::pin::Pin<Box<dyn Future<Output = Result<O, AppError>> + Send>> + Send + Sync + 'static, done: impl Fn(O) + 'static) -> Action<I, Result<O, AppError>>
where
    I: Send + Sync + 'static,
    O: Clone + Send + Sync + 'static,
{
    let action = Action::new(run);
    Effect::new(move |_| match action.value().get() {
        Some(Ok(out)) => done(out),
        Some(Err(e)) => check.refused(e),
        None => {}
    });
    action
}

/// A form's submit handler: nothing is sent while a request is on its way (a second press does
/// nothing) or while a rule is broken (the messages show); otherwise `input()` is dispatched.
pub fn on_submit<I, O>(action: Action<I, O>, check: FormCheck, input: impl Fn() -> I + 'static) -> impl Fn(leptos::ev::SubmitEvent) + 'static
where
    I: Send + Sync + 'static,
    O: Send + Sync + 'static,
{
    move |ev| {
        ev.prevent_default();
        if !action.pending().get_untracked() && check.attempt() {
            action.dispatch(input());
        }
    }
}

/// When a form's submit button is disabled: while its request is on its way, and until the page
/// has hydrated. These forms are sent by the WASM, as JSON; before it runs, the browser would post
/// them as a plain form their server function cannot read, so they visibly cannot be sent yet.
pub fn submit_disabled<I, O>(action: Action<I, O>) -> Signal<bool>
where
    I: Send + Sync + 'static,
    O: Send + Sync + 'static,
{
    let hydrated = hydrated();
    Signal::derive(move || !hydrated.get() || action.pending().get())
}

/// False in the page the server renders, true once the WASM has hydrated it: for controls that only
/// the WASM can carry out.
pub fn hydrated() -> Signal<bool> {
    let hydrated = RwSignal::new(false);
    // Effects run only in the browser, once the page is hydrated.
    Effect::new(move |_| hydrated.set(true));
    hydrated.into()
}

/// Puts the text of the file chosen in a file input (`ev`'s target) into `text`, as if pasted into
/// `field`.
pub fn read_upload(ev: leptos::ev::Event, text: RwSignal<String>, check: FormCheck, field: &'static str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        let Some(file) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()).and_then(|input| input.files()).and_then(|files| files.get(0)) else { return };
        leptos::task::spawn_local(async move {
            if let Ok(content) = wasm_bindgen_futures::JsFuture::from(file.text()).await {
                text.set(content.as_string().unwrap_or_default());
                check.touch(field);
            }
        });
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (ev, text, check, field);
}
