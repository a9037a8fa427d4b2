//! Download CSV: a view of the Credentials table as RFC 4180 text, the chosen columns in their
//! order. Pure, so the server streams it and tests check it without a server. Rows carry no value,
//! so neither does the CSV.

use std::borrow::{Borrow, Cow};

use super::query::{Column, CredentialRow, ListQuery, PAGE_SIZES};

/// Records are written in pieces of about this many bytes, so a large view goes out as it is
/// written, not after.
const PIECE: usize = 64 * 1024;

/// The columns a `columns=` parameter names (`credential,type,kubernetes_name`), in its order,
/// each once, unknown names left out. Without the parameter, or with no known name in it, the
/// columns shown by default.
pub fn columns_of(param: Option<&str>) -> Vec<Column> {
    let mut columns: Vec<Column> = Vec::new();
    for column in param.unwrap_or_default().split(',').filter_map(|key| Column::from_key(key.trim())) {
        if !columns.contains(&column) {
            columns.push(column);
        }
    }
    if columns.is_empty() { Column::default_shown() } else { columns }
}

/// The query string (without `?`) of a view's CSV: its search, filters and sort, no page (the CSV
/// has every row), and its columns.
pub fn download_query(query: &ListQuery, columns: &[Column]) -> String {
    let whole = query.at_page(1, PAGE_SIZES[0]);
    // Column keys are `[a-z_]`: nothing to encode.
    let columns = format!("columns={}", columns.iter().map(|c| c.key()).collect::<Vec<_>>().join(","));
    match whole.to_query_string() {
        view if view.is_empty() => columns,
        view => format!("{view}&{columns}"),
    }
}

/// The CSV of `rows` in `columns`: a header of the column labels, then a record per row, CRLF
/// line ends, in pieces of about 64 KiB (concatenated, they are the whole file).
pub fn pieces<R: Borrow<CredentialRow>>(rows: impl IntoIterator<Item = R>, columns: Vec<Column>) -> impl Iterator<Item = String> {
    let mut piece = String::new();
    push_record(&mut piece, columns.iter().map(|c| Cow::Borrowed(c.label())));
    let mut rows = rows.into_iter();
    std::iter::from_fn(move || {
        while piece.len() < PIECE {
            let Some(row) = rows.next() else { break };
            push_record(&mut piece, columns.iter().map(|c| cell(row.borrow(), *c)));
        }
        Some(std::mem::take(&mut piece)).filter(|p| !p.is_empty())
    })
}

/// What a cell says: the table's text, with the workloads as the reader may be told of them.
fn cell(row: &CredentialRow, column: Column) -> Cow<'_, str> {
    match column {
        Column::DataSources => Cow::Owned(row.users_described().join("; ")),
        Column::Expires => Cow::Owned(row.expires_text()),
        _ => row.text(column),
    }
}

fn push_record<'a>(out: &mut String, fields: impl Iterator<Item = Cow<'a, str>>) {
    for (i, field) in fields.enumerate() {
        if i > 0 {
            out.push(',');
        }
        push_field(out, &field);
    }
    out.push_str("\r\n");
}

/// One field, inert in a spreadsheet: text a spreadsheet would run as a formula (first character
/// `=`, `+`, `-`, `@`, tab or carriage return) gets a leading `'`. Then RFC 4180: a field with a
/// comma, a quote or a line break is quoted, its quotes doubled.
fn push_field(out: &mut String, text: &str) {
    let formula = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quoted = text.contains([',', '"', '\r', '\n']);
    if quoted {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    if quoted {
        out.push_str(&text.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(text);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::credential::CredentialType;
    use crate::domain::query::{Direction, Filter};

    fn field(text: &str) -> String {
        let mut out = String::new();
        push_field(&mut out, text);
        out
    }

    fn row(name: &str, description: &str) -> CredentialRow {
        CredentialRow {
            name: name.into(),
            secret_name: format!("{name}-secret"),
            display_name: name.to_uppercase(),
            description: description.into(),
            used_by: vec!["Deployment/vision/trainer".into()],
            unseen_users: 2,
            created_by: "bob".into(),
            may_change: true,
            ..CredentialRow::example(name, CredentialType::AccessKey, &["AWS_ACCESS_KEY_ID"])
        }
    }

    #[test]
    fn fields_are_quoted_as_rfc_4180_says() {
        assert_eq!(field("plain text"), "plain text");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("two\nlines"), "\"two\nlines\"");
        assert_eq!(field(""), "");
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(field("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        for formula in ["+1+1", "-1+1", "@SUM(A1)", "\t=1"] {
            assert_eq!(field(formula), format!("'{formula}"));
        }
        assert_eq!(field("\r=1"), "\"'\r=1\"");
        assert_eq!(field("=HYPERLINK(\"http://x\",\"y\")"), "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
        assert_eq!(field("a=b"), "a=b", "only a leading sign starts a formula");
    }

    #[test]
    fn a_view_is_a_header_and_a_record_per_row_in_the_chosen_columns() {
        let rows = [row("s3", "=cmd|' /C calc'!A0"), row("hub", "images, models")];
        let columns = vec![Column::Credential, Column::KubernetesName, Column::Description, Column::DataSources, Column::Type];
        let csv: String = pieces(&rows, columns).collect();
        assert_eq!(
            csv,
            "Credential,Kubernetes name,Description,Data source(s),Type\r\n\
             S3,vision/s3 (Secret s3-secret),'=cmd|' /C calc'!A0,Deployment/vision/trainer; 2 workloads in projects you cannot see,Access key\r\n\
             HUB,vision/hub (Secret hub-secret),\"images, models\",Deployment/vision/trainer; 2 workloads in projects you cannot see,Access key\r\n"
        );
        let empty: Vec<CredentialRow> = Vec::new();
        assert_eq!(pieces(empty, vec![Column::Credential]).collect::<Vec<_>>(), ["Credential\r\n"]);
    }

    #[test]
    fn a_large_view_comes_in_pieces_of_whole_records() {
        let rows: Vec<CredentialRow> = (0..5000).map(|i| row(&format!("credential-{i}"), "a description")).collect();
        let pieces: Vec<String> = pieces(rows.iter(), Column::ALL.to_vec()).collect();
        assert!(pieces.len() > 1, "{} pieces", pieces.len());
        assert!(pieces.iter().all(|p| p.ends_with("\r\n") && p.len() < 2 * PIECE));
        assert_eq!(pieces.concat().matches("\r\n").count(), 5001);
    }

    #[test]
    fn the_download_address_holds_the_view_and_its_columns() {
        let query = ListQuery {
            search: "s3".into(),
            filters: vec![Filter { column: Column::Type, values: vec!["Access key".into()] }],
            sort: Some((Column::KubernetesName, Direction::Descending)),
            page: 3,
            per_page: 50,
        };
        let columns = [Column::Credential, Column::KubernetesName, Column::Type];
        let address = download_query(&query, &columns);
        assert_eq!(address, "q=s3&type=Access%20key&sort=kubernetes_name&order=desc&columns=credential,kubernetes_name,type");
        let decoded = [("q", "s3"), ("type", "Access key"), ("sort", "kubernetes_name"), ("order", "desc"), ("columns", "credential,kubernetes_name,type")];
        assert_eq!(ListQuery::from_params(decoded), ListQuery { page: 1, per_page: 25, ..query });
        assert_eq!(columns_of(Some("credential,kubernetes_name,type")), columns);
        assert_eq!(download_query(&ListQuery::default(), &[Column::Credential]), "columns=credential");
    }

    #[test]
    fn columns_come_in_the_order_asked_once_each_or_the_defaults() {
        assert_eq!(columns_of(Some("type, credential,type,nonsense")), [Column::Type, Column::Credential]);
        assert_eq!(columns_of(None), Column::default_shown());
        assert_eq!(columns_of(Some("nonsense")), Column::default_shown());
    }
}
