//! Gathering a folder of run records into tables: one row per run (its parameters, status,
//! wall time and the scalars of its JSON result), and each CSV file the runs wrote, concatenated
//! with the run's parameters in front.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::store::{Record, RunStore};
use crate::error::{Error, Result};

/// A table of JSON cells (numbers, text, or null for missing).
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Table {
    /// Header.
    pub columns: Vec<String>,
    /// Rows, each as long as `columns`.
    pub rows: Vec<Vec<serde_json::Value>>,
}

impl Table {
    /// The index of a column.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c == name)
    }

    /// A column as numbers (`None` for missing or text cells), or `None` when there is no such
    /// column.
    pub fn numbers(&self, name: &str) -> Option<Vec<Option<f64>>> {
        let j = self.column(name)?;
        Some(self.rows.iter().map(|r| r[j].as_f64()).collect())
    }

    /// Writes the table as CSV: numbers in the shortest form that reads back to the same value,
    /// missing cells empty.
    pub fn write_csv(&self, path: &Path) -> Result<()> {
        let mut w = csv::Writer::from_path(path)
            .map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
        w.write_record(&self.columns)
            .map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
        for row in &self.rows {
            w.write_record(row.iter().map(cell_text))
                .map_err(|e| Error::Format(format!("{}: {e}", path.display())))?;
        }
        w.flush().map_err(|e| Error::io(path, e))
    }

    fn push_row(&mut self, cells: BTreeMap<String, serde_json::Value>) {
        for k in cells.keys() {
            if self.column(k).is_none() {
                self.columns.push(k.clone());
                for r in &mut self.rows {
                    r.push(serde_json::Value::Null);
                }
            }
        }
        let mut row = vec![serde_json::Value::Null; self.columns.len()];
        for (k, v) in cells {
            if let Some(j) = self.column(&k) {
                row[j] = v;
            }
        }
        self.rows.push(row);
    }
}

fn cell_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Arrays longer than this are left out of the runs table (they belong in the record).
const MAX_ARRAY: usize = 16;

/// Scalars of a JSON value as `prefix.key.key` columns; short arrays of scalars as JSON text.
fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, serde_json::Value)>) {
    use serde_json::Value as J;
    match v {
        J::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten(&p, x, out);
            }
        }
        J::Array(a) => {
            if a.len() <= MAX_ARRAY && a.iter().all(|x| !x.is_object() && !x.is_array()) {
                out.push((prefix.to_string(), J::String(v.to_string())));
            }
        }
        J::Bool(b) => out.push((prefix.to_string(), J::from(*b as i64))),
        _ => out.push((prefix.to_string(), v.clone())),
    }
}

/// Merged tables of a store.
#[derive(Clone, Debug, Default)]
pub struct Merged {
    /// One row per run: `id`, the parameters, `status`, `wall_s`, `error`, then the scalars of
    /// the result (nested keys joined by `.`, short lists as JSON text), in grid order.
    pub runs: Table,
    /// Each CSV file the runs wrote (by its path in the run's folder), its rows from every run
    /// with `id` and the parameters in front.
    pub tables: BTreeMap<String, Table>,
}

/// Merges records (in the order given; use [`RunStore::records`] for grid order).
pub fn merge_records(names: &[&str], records: &[Record]) -> Merged {
    let mut m = Merged::new(names);
    for r in records {
        m.add(names, r);
    }
    m
}

impl Merged {
    fn new(names: &[&str]) -> Self {
        let mut m = Merged::default();
        m.runs.columns = ["id"]
            .into_iter()
            .chain(names.iter().copied())
            .chain(["status", "wall_s", "error"])
            .map(String::from)
            .collect();
        m
    }

    fn add(&mut self, names: &[&str], r: &Record) {
        let m = self;
        let mut front = vec![("id".to_string(), serde_json::Value::from(r.id.as_str()))];
        for n in names {
            front.push((n.to_string(), r.params.get(*n).cloned().unwrap_or_default()));
        }
        let mut cells: BTreeMap<String, serde_json::Value> = front.iter().cloned().collect();
        cells.insert("status".into(), r.status.to_string().into());
        cells.insert("wall_s".into(), r.wall_s.into());
        cells.insert("error".into(), r.error.as_str().into());
        let mut flat = vec![];
        if let Some(res) = &r.result {
            flatten("", res, &mut flat);
        }
        // Result keys keep their order of first appearance.
        for (k, v) in flat {
            let key = if cells.contains_key(&k) {
                format!("result.{k}")
            } else {
                k
            };
            if m.runs.column(&key).is_none() {
                m.runs.columns.push(key.clone());
                for row in &mut m.runs.rows {
                    row.push(serde_json::Value::Null);
                }
            }
            cells.insert(key, v);
        }
        m.runs.push_row(cells);

        for (name, t) in &r.tables {
            let table = m.tables.entry(name.clone()).or_insert_with(|| Table {
                columns: front.iter().map(|f| f.0.clone()).collect(),
                rows: vec![],
            });
            for row in &t.rows {
                let mut cells: BTreeMap<String, serde_json::Value> =
                    front.iter().cloned().collect();
                for (c, v) in t.columns.iter().zip(row) {
                    let key =
                        if cells.contains_key(c) && !front.iter().any(|f| &f.0 == c && f.1 == *v) {
                            format!("table.{c}")
                        } else {
                            c.clone()
                        };
                    if table.column(&key).is_none() {
                        table.columns.push(key.clone());
                        for r in &mut table.rows {
                            r.push(serde_json::Value::Null);
                        }
                    }
                    cells.insert(key, v.clone());
                }
                table.push_row(cells);
            }
        }
    }
}

/// Merges the store's records in grid order, reading one record at a time (a store of thousands
/// of large records is never held in memory at once).
pub fn merge(store: &RunStore) -> Result<Merged> {
    let names = store.grid().names();
    let mut m = Merged::new(&names);
    for run in store.grid().runs()? {
        if let Some(r) = store.record(&run.id)? {
            m.add(&names, &r);
        }
    }
    Ok(m)
}

/// Writes `runs.csv` and one CSV per table (named by its file name, or by its path with `/` as
/// `__` when two tables share a file name) into `dir`; returns the files written.
pub fn write_merged(m: &Merged, dir: &Path) -> Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut files = vec![dir.join("runs.csv")];
    m.runs.write_csv(&files[0])?;
    let file_name = |k: &str| k.rsplit('/').next().unwrap_or(k).to_string();
    for (k, t) in &m.tables {
        let base = file_name(k);
        let shared = m.tables.keys().filter(|j| file_name(j) == base).count() > 1;
        let name = if shared || base == "runs.csv" {
            k.replace('/', "__")
        } else {
            base
        };
        let p = dir.join(name);
        t.write_csv(&p)?;
        files.push(p);
    }
    Ok(files)
}
