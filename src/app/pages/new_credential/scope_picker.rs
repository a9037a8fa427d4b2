//! The wizard's first step: a tree of cluster › department › project, with a radio button at each
//! scope the person may create in and plain text at the others that lead to one.

use leptos::prelude::*;

use crate::app::components::form::{FieldMessage, FormCheck};
use crate::domain::credential::{Scope, ScopeLevel};
use crate::domain::scope_tree::ScopeNode;

#[component]
pub fn ScopePicker(tree: ScopeNode, selected: RwSignal<Option<Scope>>) -> impl IntoView {
    view! {
        <fieldset>
            <legend class="field-label">"Scope"</legend>
            <p class="field-hint mb-2">"Where the credential can be used: one project, every project of a department, a whole cluster, or every cluster."</p>
            <ul class="space-y-1">{node(tree, selected)}</ul>
            <FieldMessage field="scope" />
        </fieldset>
    }
}

fn level_name(level: ScopeLevel) -> &'static str {
    match level {
        ScopeLevel::Project => "project",
        ScopeLevel::Department => "department",
        ScopeLevel::Cluster => "cluster",
        ScopeLevel::Account => "account",
        ScopeLevel::Personal => "personal",
    }
}

fn node(node: ScopeNode, selected: RwSignal<Option<Scope>>) -> AnyView {
    let check = expect_context::<FormCheck>();
    let level = level_name(node.scope.level);
    let text = view! { <span>{node.label.clone()}</span> <span class="text-xs text-slate-500 dark:text-slate-400">{format!("· {level}")}</span> };
    let choice = if node.allowed {
        let (mine, pick) = (node.scope.clone(), node.scope);
        view! {
            <label class="inline-flex items-center gap-2 rounded px-1 py-0.5 hover:bg-slate-100 dark:hover:bg-slate-800">
                <input type="radio" name="scope" prop:checked=move || selected.read().as_ref() == Some(&mine)
                    on:change=move |_| { selected.set(Some(pick.clone())); check.touch("scope"); } />
                {text}
            </label>
        }
        .into_any()
    } else {
        view! { <span class="inline-flex items-center gap-2 px-1 py-0.5 text-slate-500 dark:text-slate-400">{text}</span> }.into_any()
    };
    let children = (!node.children.is_empty()).then(|| {
        view! { <ul class="ml-6 space-y-1 border-l border-slate-200 pl-3 dark:border-slate-700">{node.children.into_iter().map(|c| self::node(c, selected)).collect_view()}</ul> }
    });
    view! { <li>{choice}{children}</li> }.into_any()
}
