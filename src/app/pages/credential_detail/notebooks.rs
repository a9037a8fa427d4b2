//! "Offer to notebooks" on a credential's page: a Kubeflow PodDefault in each project it reaches,
//! where the person may make one; the dialog says what happened in each.

use leptos::prelude::*;

use crate::app::components::form::{FormCheck, FormError, on_submit, submission};
use crate::app::components::modal::{DialogButtons, Modal};
use crate::domain::AppError;
use crate::domain::notebooks::Offered;
use crate::domain::query::CredentialRow;

#[server(endpoint = "offer_to_notebooks")]
pub async fn offer_to_notebooks(namespace: String, name: String) -> Result<Offered, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.offer_to_notebooks(&who, &namespace, &name).await }).await
}

/// Whether the signed-in person could offer this credential to notebooks anywhere.
#[server(endpoint = "may_offer_to_notebooks")]
pub async fn may_offer_to_notebooks(namespace: String, name: String) -> Result<bool, AppError> {
    crate::server::auth::web::credentials(|service, who| async move { service.may_offer_to_notebooks(&who, &namespace, &name).await }).await
}

/// Offered only to people who may make a PodDefault in some project the credential reaches.
#[component]
pub fn OfferToNotebooks(row: CredentialRow) -> impl IntoView {
    let open = RwSignal::new(false);
    let (namespace, name) = (row.namespace.clone(), row.name.clone());
    let may = Resource::new(|| (), move |_| may_offer_to_notebooks(namespace.clone(), name.clone()));
    let row = StoredValue::new(row);
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                may.await.unwrap_or(false).then(|| view! {
                    <button type="button" class="btn-secondary mt-3" on:click=move |_| open.set(true)>"Offer to notebooks"</button>
                    <Modal id="notebooks-dialog" title=format!("Offer {} to notebooks", row.with_value(|r| r.display_name.clone())) open>
                        <OfferForm namespace=row.with_value(|r| r.namespace.clone()) name=row.with_value(|r| r.name.clone()) open />
                    </Modal>
                })
            })}
        </Transition>
    }
}

#[component]
fn OfferForm(namespace: String, name: String, open: RwSignal<bool>) -> impl IntoView {
    let offered = RwSignal::new(None::<Offered>);
    let check = FormCheck::provide(Vec::new);
    let action = submission(check, move |_: &()| Box::pin(offer_to_notebooks(namespace.clone(), name.clone())), move |done| offered.set(Some(done)));
    let submit = on_submit(action, check, || ());
    let results = move || {
        offered.get().map(|done| {
            let items = done
                .offers
                .into_iter()
                .map(|o| view! { <li>{if o.offered { format!("{}: offered", o.namespace) } else { format!("{}: not offered, {}", o.namespace, o.reason) }}</li> })
                .collect_view();
            view! { <ul class="list-disc pl-5 text-sm" aria-label="Offered in">{items}</ul> }
        })
    };
    view! {
        <form class="space-y-4" on:submit=submit novalidate>
            <p class="text-sm">
                "Keyhold makes a Kubeflow PodDefault for this credential in each project it reaches where you may make one, "
                "so the notebook launcher lists it under its configurations. They go when the credential goes."
            </p>
            {results}
            <FormError />
            <DialogButtons label="Offer" busy="Offering…" pending=action.pending().into() open />
        </form>
    }
}
