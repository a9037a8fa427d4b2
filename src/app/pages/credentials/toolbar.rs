//! The table's toolbar: search, "Add filter" and its chips, "Columns" and "Refresh". Every control
//! works from the keyboard; search and the chips also work without JavaScript (a GET form, links).

use std::time::Duration;

use leptos::prelude::*;

use super::{TableState, href};
use crate::domain::query::{Column, FilterKind, ListQuery};

/// How long typing pauses before the search is applied.
const SEARCH_DELAY: Duration = Duration::from_millis(250);

#[component]
pub fn Toolbar(state: TableState) -> impl IntoView {
    view! {
        <div class="mb-3 flex flex-wrap items-center gap-2">
            <SearchField state />
            <FilterMenu state />
            <ColumnsMenu state />
            <button type="button" class="btn-secondary" on:click=move |_| state.refresh()>"Refresh"</button>
        </div>
        <FilterChips state />
    }
}

/// Free text over name, description, creator, scope and key names, applied as the person types.
#[component]
fn SearchField(state: TableState) -> impl IntoView {
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let field = NodeRef::<leptos::html::Input>::new();
    let apply = move |text: String| {
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        if text != state.query.get_untracked().search {
            state.go.run(state.query.get_untracked().with_search(&text));
        }
    };
    let on_input = move |ev| {
        let text = event_target_value(&ev);
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        pending.set_value(set_timeout_with_handle(move || apply(text), SEARCH_DELAY).ok());
    };
    // Without JavaScript the form is a plain GET that keeps the filters and sort.
    let kept = move || {
        let query = state.query.get();
        query.with_search("").to_params().into_iter().filter(|(k, _)| *k != "page").map(|(name, value)| view! { <input type="hidden" name=name value=value /> }).collect_view()
    };
    view! {
        <form
            role="search"
            method="get"
            action="/credentials"
            class="min-w-60 flex-1"
            on:submit=move |ev| {
                ev.prevent_default();
                apply(field.get().map(|i| i.value()).unwrap_or_default());
            }
        >
            <label for="credential-search" class="sr-only">"Search credentials"</label>
            <input
                id="credential-search"
                node_ref=field
                type="search"
                name="q"
                placeholder="Search credentials"
                autocomplete="off"
                class="input w-full"
                prop:value=move || state.query.get().search
                on:input=on_input
            />
            {kept}
        </form>
    }
}

/// A toggled panel next to its button, closed with Escape.
#[component]
fn Popover(label: &'static str, id: &'static str, open: RwSignal<bool>, children: ChildrenFn) -> impl IntoView {
    view! {
        <div class="relative" on:keydown=move |ev| if ev.key() == "Escape" { open.set(false) }>
            <button
                type="button"
                class="btn-secondary"
                aria-expanded=move || open.get().to_string()
                aria-controls=id
                on:click=move |_| open.update(|o| *o = !*o)
            >
                {label}
            </button>
            <Show when=move || open.get()>
                <div id=id role="dialog" aria-label=label class="popover">
                    {children()}
                </div>
            </Show>
        </div>
    }
}

/// "Add filter": pick a column, then its values (or the text it contains).
#[component]
fn FilterMenu(state: TableState) -> impl IntoView {
    let open = RwSignal::new(false);
    let column = RwSignal::new(None::<Column>);
    Effect::new(move |_| {
        if !open.get() {
            column.set(None);
        }
    });
    let done = move |query: ListQuery| {
        open.set(false);
        state.go.run(query);
    };
    view! {
        <Popover label="Add filter" id="filter-menu" open>
            {move || match column.get() {
                None => {
                    let columns = Column::ALL.into_iter().filter(|c| c.filter_kind().is_some());
                    view! {
                        <p class="popover-title">"Filter by"</p>
                        <ul>
                            {columns
                                .map(|c| view! {
                                    <li>
                                        <button type="button" class="menu-item" on:click=move |_| column.set(Some(c))>{c.label()}</button>
                                    </li>
                                })
                                .collect_view()}
                        </ul>
                    }
                    .into_any()
                }
                Some(c) if c.filter_kind() == Some(FilterKind::Pick) => view! { <PickValues state column=c done /> }.into_any(),
                Some(c) => view! { <ContainsText state column=c done /> }.into_any(),
            }}
        </Popover>
    }
}

/// Checkboxes for the values a column has among the credentials the person may see.
#[component]
fn PickValues(state: TableState, column: Column, done: impl Fn(ListQuery) + Copy + Send + Sync + 'static) -> impl IntoView {
    let current = state.query.get_untracked().filters.into_iter().find(|f| f.column == column).map(|f| f.values).unwrap_or_default();
    let picked = RwSignal::new(current);
    let choices = Resource::new(move || column, super::filter_choices);
    view! {
        <form on:submit=move |ev| {
            ev.prevent_default();
            done(state.query.get_untracked().with_filter(column, picked.get_untracked()));
        }>
            <fieldset>
                <legend class="popover-title">{column.label()}</legend>
                <Suspense fallback=|| view! { <p class="menu-item text-slate-500">"Loading…"</p> }>
                    {move || choices.get().and_then(Result::err).map(|e| view! { <p role="alert" class="menu-item text-red-700">{e.to_string()}</p> })}
                    <For each=move || choices.get().and_then(Result::ok).unwrap_or_default() key=|v| v.clone() let(value)>
                        <label class="menu-item flex items-center gap-2">
                            <input
                                type="checkbox"
                                prop:checked={
                                    let value = value.clone();
                                    move || picked.with(|p| p.contains(&value))
                                }
                                on:change={
                                    let value = value.clone();
                                    move |ev| {
                                        let on = event_target_checked(&ev);
                                        picked.update(|p| {
                                            p.retain(|v| *v != value);
                                            if on {
                                                p.push(value.clone());
                                            }
                                        });
                                    }
                                }
                            />
                            {value.clone()}
                        </label>
                    </For>
                </Suspense>
            </fieldset>
            <button type="submit" class="btn-primary mt-2 w-full">"Apply"</button>
        </form>
    }
}

/// A text box: rows whose column contains the text.
#[component]
fn ContainsText(state: TableState, column: Column, done: impl Fn(ListQuery) + Copy + Send + Sync + 'static) -> impl IntoView {
    let text = RwSignal::new(String::new());
    view! {
        <form on:submit=move |ev| {
            ev.prevent_default();
            let query = state.query.get_untracked();
            let mut values = query.filters.iter().find(|f| f.column == column).map(|f| f.values.clone()).unwrap_or_default();
            values.push(text.get_untracked());
            done(query.with_filter(column, values));
        }>
            <label for="filter-contains" class="popover-title block">{format!("{} contains", column.label())}</label>
            <input id="filter-contains" type="text" class="input w-full" autofocus bind:value=text />
            <button type="submit" class="btn-primary mt-2 w-full">"Apply"</button>
        </form>
    }
}

/// The filters in force, each a chip with a link that removes it.
#[component]
fn FilterChips(state: TableState) -> impl IntoView {
    let chips = move || {
        let query = state.query.get();
        query
            .filters
            .iter()
            .map(|filter| {
                let label = filter.column.label();
                let joiner = if filter.column.filter_kind() == Some(FilterKind::Contains) { " or " } else { ", " };
                let without = href(&query.with_filter(filter.column, Vec::new()));
                view! {
                    <li class="chip">
                        <span>{format!("{label}: {}", filter.values.join(joiner))}</span>
                        <a href=without class="chip-remove" aria-label=format!("Remove filter {label}")>"×"</a>
                    </li>
                }
            })
            .collect_view()
    };
    view! {
        <Show when=move || !state.query.get().filters.is_empty()>
            <ul aria-label="Filters" class="mb-3 flex flex-wrap gap-2">{chips}</ul>
        </Show>
    }
}

/// "Columns": show or hide each column; the choice is saved for the person.
#[component]
fn ColumnsMenu(state: TableState) -> impl IntoView {
    let open = RwSignal::new(false);
    let save = Action::new(|hidden: &Vec<Column>| super::hide_columns(hidden.clone()));
    let toggle = move |column: Column, shown: bool| {
        let mut hidden = state.hidden_columns();
        hidden.retain(|c| *c != column);
        if !shown {
            hidden.push(column);
        }
        state.hidden.set(Some(hidden.clone()));
        save.dispatch(hidden);
    };
    view! {
        <Popover label="Columns" id="columns-menu" open>
            <fieldset>
                <legend class="popover-title">"Show columns"</legend>
                {Column::ALL
                    .into_iter()
                    .map(|column| view! {
                        <label class="menu-item flex items-center gap-2">
                            <input
                                type="checkbox"
                                disabled=!column.hideable()
                                prop:checked=move || !state.hidden_columns().contains(&column)
                                on:change=move |ev| toggle(column, event_target_checked(&ev))
                            />
                            {column.label()}
                        </label>
                    })
                    .collect_view()}
            </fieldset>
        </Popover>
    }
}
