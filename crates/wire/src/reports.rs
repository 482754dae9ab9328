//! Reports: the SQL views of `schema/0005_reports.sql` as the back-office
//! reads them. `GET /api/admin/reports` answers their names, a list of
//! text (`Vec<String>`).

use serde::{Deserialize, Serialize};

/// One report as a table: `GET /api/admin/reports/{name}` (with
/// `?format=csv`, the same as a CSV file instead). Values are Postgres'
/// text of each column; `None` is SQL `NULL`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Option<String>>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_keeps_its_nulls() {
        let json = r#"{"columns":["month","revenue"],"rows":[["2030-01",null]]}"#;
        let table: Table = serde_json::from_str(json).unwrap();
        assert_eq!(table.rows, [[Some("2030-01".to_owned()), None]]);
        assert_eq!(serde_json::to_string(&table).unwrap(), json);
    }
}
