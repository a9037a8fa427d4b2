//! How results are printed: aligned columns for people, the REST API's JSON (or the same as YAML)
//! for scripts. Text others typed (names, descriptions) has its control characters replaced, so a
//! display name cannot move a terminal's cursor or rewrite what was printed before it.

use serde::Serialize;

use crate::domain::query::CredentialRow;

use super::CliError;
use super::args::Format;

/// `text` as one line, every control character shown as `?`.
pub fn clean(text: &str) -> String {
    text.chars().map(|c| if c.is_control() { '?' } else { c }).collect()
}

/// Prints `text` with every control character but its line ends (`\n`, `\r\n`) shown as `?`:
/// everything the commands print to stdout goes through here.
pub fn print(text: &str) {
    let lines: Vec<String> = text.split('\n').map(|line| line.strip_suffix('\r').map_or_else(|| clean(line), |l| clean(l) + "\r")).collect();
    print!("{}", lines.join("\n"));
}

/// Columns separated by three spaces, each as wide as its widest cell.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let cells: Vec<Vec<String>> = std::iter::once(headers.iter().map(|h| clean(h)).collect()).chain(rows.iter().map(|row| row.iter().map(|c| clean(c)).collect())).collect();
    let widths: Vec<usize> = (0..headers.len()).map(|i| cells.iter().map(|row| row[i].chars().count()).max().unwrap_or(0)).collect();
    let mut out = String::new();
    for row in &cells {
        let line: Vec<String> = row.iter().zip(&widths).map(|(cell, width)| format!("{cell:width$}")).collect();
        out.push_str(line.join("   ").trim_end());
        out.push('\n');
    }
    out
}

pub fn json(value: &impl Serialize) -> String {
    serde_json::to_string_pretty(value).expect("API types serialise") + "\n"
}

pub fn yaml(value: &impl Serialize) -> Result<String, CliError> {
    serde_saphyr::to_string(value).map_err(|e| CliError::Local(format!("cannot print YAML: {e}")))
}

/// Credentials in a format; CSV as the console's Download CSV writes it.
pub fn credentials(rows: &[CredentialRow], format: Format) -> Result<String, CliError> {
    Ok(match format {
        Format::Json => json(&rows),
        Format::Yaml => yaml(&rows)?,
        Format::Name => rows.iter().map(|r| format!("{}/{}\n", r.namespace, r.name)).collect(),
        Format::Csv => crate::domain::csv::pieces(rows, crate::domain::csv::columns_of(None)).collect(),
        Format::Table => table(&["CREDENTIAL", "TYPE", "SCOPE", "STATUS", "CREATED BY"], &rows.iter().map(|r| narrow(r).to_vec()).collect::<Vec<_>>()),
        Format::Wide => table(
            &["CREDENTIAL", "TYPE", "SCOPE", "STATUS", "CREATED BY", "KUBERNETES NAME", "USED BY", "CREATED", "DESCRIPTION"],
            &rows
                .iter()
                .map(|r| {
                    let mut row = narrow(r).to_vec();
                    row.extend([r.kubernetes_name(), r.users_described().join(", "), r.created_at.clone(), r.description.clone()]);
                    row
                })
                .collect::<Vec<_>>(),
        ),
    })
}

fn narrow(r: &CredentialRow) -> [String; 5] {
    [r.display_name.clone(), r.credential_type.label().to_string(), r.scope_path.clone(), r.phase.label().to_string(), r.created_by.clone()]
}

/// One credential for people: its facts, key names, status per namespace, users and snippets.
pub fn credential(row: &CredentialRow, snippets: &[crate::domain::snippets::Snippet]) -> String {
    let mut out = table(
        &["Name:", &row.display_name],
        &[
            vec!["Kubernetes name:".into(), row.kubernetes_name()],
            vec!["Type:".into(), row.credential_type.label().into()],
            vec!["Scope:".into(), row.scope_path.clone()],
            vec!["Status:".into(), row.phase.label().into()],
            vec!["Description:".into(), row.description.clone()],
            vec!["Created:".into(), format!("{} by {}", row.created_at, row.created_by)],
            vec!["Keys:".into(), row.keys.join(", ")],
        ],
    );
    let mut section = |title: &str, lines: Vec<String>| {
        if !lines.is_empty() {
            out.push_str(&format!("{title}:\n"));
            lines.iter().for_each(|line| out.push_str(&format!("  {}\n", clean(line))));
        }
    };
    section("Status per namespace", row.targets.iter().map(|t| format!("{}   {}   {}", t.place(), t.phase.label(), t.message).trim_end().to_string()).collect());
    section("Used by", row.users_described());
    out.push_str("How to use (keyhold credential get NAME --snippet NAME prints one alone):\n");
    for snippet in snippets {
        out.push_str(&format!("  {} [{}]\n", snippet.title, snippet.name));
        snippet.text.lines().for_each(|line| out.push_str(&format!("    {}\n", clean(line))));
    }
    out
}
