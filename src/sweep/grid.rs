//! A grid: a command and named parameter lists whose Cartesian product is the set of runs, as
//! `mariogeiger/grid` (`python -m grid FOLDER "python main.py" --h:int 6 7 8 --alpha:float …`),
//! which drove the feature/lazy sweeps of Geiger, Petrini & Wyart (arXiv 2012.15110).

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// The declared type of a parameter's values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Integers (`i64`).
    Int,
    /// Finite floating-point numbers (`f64`).
    Float,
    /// Text, passed as is.
    Str,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::Int => "int",
            Kind::Float => "float",
            Kind::Str => "str",
        })
    }
}

/// One value of a parameter.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    /// An integer.
    Int(i64),
    /// A finite float; written in the shortest form that reads back to the same number.
    Float(f64),
    /// Text.
    Str(String),
}

impl Value {
    /// The value as a number (`None` for text).
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Float(x) => Some(*x),
            Value::Str(_) => None,
        }
    }

    /// The value's kind.
    pub fn kind(&self) -> Kind {
        match self {
            Value::Int(_) => Kind::Int,
            Value::Float(_) => Kind::Float,
            Value::Str(_) => Kind::Str,
        }
    }

    /// The value as JSON.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Float(x) => serde_json::Value::from(*x),
            Value::Str(s) => serde_json::Value::from(s.as_str()),
        }
    }

    /// The canonical text hashed into a run id: the kind and the exact value.
    fn canonical(&self) -> String {
        match self {
            Value::Int(i) => format!("i:{i}"),
            Value::Float(x) => format!("f:{x:?}"),
            Value::Str(s) => format!("s:{}", s.escape_default()),
        }
    }
}

impl fmt::Display for Value {
    /// The text passed to the command: integers in decimal, floats in the shortest decimal form
    /// that reads back to the same `f64`, text as is.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x}"),
            Value::Str(s) => f.write_str(s),
        }
    }
}

/// A named parameter and its list of values.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// Name: letters, digits, `-` and `_`; passed as `--name value` unless the command refers to
    /// it as `{name}`.
    pub name: String,
    /// The declared kind of every value.
    #[serde(rename = "type")]
    pub kind: Kind,
    /// The values, in the order the runs take them.
    pub values: Vec<Value>,
}

impl Param {
    /// A parameter from its declaration `name` or `name:int|float|str` and its values as text
    /// (each may hold several values separated by commas; `a..b` is the integers a, …, b − 1).
    /// Without a declared type the kind is inferred: int when every value is an integer, float
    /// when every value is a number, text otherwise.
    pub fn parse(decl: &str, values: &[impl AsRef<str>]) -> Result<Self> {
        let (name, kind) = match decl.split_once(':') {
            Some((n, k)) => (
                n,
                Some(match k {
                    "int" => Kind::Int,
                    "float" => Kind::Float,
                    "str" => Kind::Str,
                    _ => {
                        return Err(Error::invalid(
                            "parameter type",
                            format!("{decl:?}"),
                            "the type after ':' must be int, float or str",
                        ));
                    }
                }),
            ),
            None => (decl, None),
        };
        check_name(name)?;
        let texts: Vec<&str> = values
            .iter()
            .flat_map(|v| v.as_ref().split(','))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .collect();
        let kind = kind.unwrap_or_else(|| {
            if texts.iter().all(|t| is_int_or_range(t)) {
                Kind::Int
            } else if texts.iter().all(|t| t.parse::<f64>().is_ok()) {
                Kind::Float
            } else {
                Kind::Str
            }
        });
        let mut out = Vec::new();
        for t in texts {
            match kind {
                Kind::Int => match t.split_once("..") {
                    Some((a, b)) => {
                        let (a, b) = (parse_int(name, a)?, parse_int(name, b)?);
                        if b <= a {
                            return Err(Error::invalid(
                                "parameter values",
                                format!("{name} = {t}"),
                                "a range a..b needs a < b (b is excluded)",
                            ));
                        }
                        crate::check::check_alloc::<Value>("parameter range", (b - a) as usize, 1)?;
                        out.extend((a..b).map(Value::Int));
                    }
                    None => out.push(Value::Int(parse_int(name, t)?)),
                },
                Kind::Float => {
                    let x: f64 = t.parse().map_err(|_| {
                        Error::invalid(
                            "parameter values",
                            format!("{name} = {t:?}"),
                            "is declared float but this value is not a number",
                        )
                    })?;
                    out.push(Value::Float(x));
                }
                Kind::Str => out.push(Value::Str(t.to_string())),
            }
        }
        let p = Param {
            name: name.to_string(),
            kind,
            values: out,
        };
        p.check()?;
        Ok(p)
    }

    /// Checks the name, that there are values, that each has the declared kind and that floats
    /// are finite.
    pub fn check(&self) -> Result<()> {
        check_name(&self.name)?;
        if self.values.is_empty() {
            return Err(Error::invalid(
                "parameter values",
                &self.name,
                "the list is empty, so the grid would have no runs",
            ));
        }
        for v in &self.values {
            let ok = match (self.kind, v) {
                (Kind::Int, Value::Int(_)) | (Kind::Str, Value::Str(_)) => true,
                (Kind::Float, Value::Float(x)) => x.is_finite(),
                _ => false,
            };
            if !ok {
                return Err(Error::invalid(
                    "parameter values",
                    format!("{} = {v}", self.name),
                    format!(
                        "is declared {} but this value is not one (or not finite)",
                        self.kind
                    ),
                ));
            }
        }
        Ok(())
    }

    /// A parameter from a TOML or JSON value: a list of numbers or strings (integers make an
    /// int parameter, any float makes all numbers floats, strings a text parameter).
    fn from_json(name: &str, v: &serde_json::Value) -> Result<Self> {
        let list = match v {
            serde_json::Value::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        let all_int = list.iter().all(|x| x.is_i64());
        let all_num = list.iter().all(|x| x.is_number());
        let all_str = list.iter().all(|x| x.is_string());
        let (kind, values) = if all_int {
            (
                Kind::Int,
                list.iter()
                    .map(|x| Value::Int(x.as_i64().unwrap_or(0)))
                    .collect(),
            )
        } else if all_num {
            (
                Kind::Float,
                list.iter()
                    .map(|x| Value::Float(x.as_f64().unwrap_or(f64::NAN)))
                    .collect(),
            )
        } else if all_str {
            (
                Kind::Str,
                list.iter()
                    .map(|x| Value::Str(x.as_str().unwrap_or_default().to_string()))
                    .collect(),
            )
        } else {
            return Err(Error::invalid(
                "parameter values",
                format!("{name} = {v}"),
                "a list must hold only numbers or only strings",
            ));
        };
        let p = Param {
            name: name.to_string(),
            kind,
            values,
        };
        p.check()?;
        Ok(p)
    }
}

fn is_int_or_range(t: &str) -> bool {
    match t.split_once("..") {
        Some((a, b)) => a.parse::<i64>().is_ok() && b.parse::<i64>().is_ok(),
        None => t.parse::<i64>().is_ok(),
    }
}

fn parse_int(name: &str, t: &str) -> Result<i64> {
    t.trim().parse().map_err(|_| {
        Error::invalid(
            "parameter values",
            format!("{name} = {t:?}"),
            "is declared int but this value is not an integer",
        )
    })
}

fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        && !name.starts_with('-');
    if matches!(name, "output" | "dir") {
        return Err(Error::invalid(
            "parameter name",
            format!("{name:?}"),
            "is reserved: {output} and {dir} stand for the run's result file and folder",
        ));
    }
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(
            "parameter name",
            format!("{name:?}"),
            "use 1–64 letters, digits, '-' or '_' (not starting with '-')",
        ))
    }
}

/// One point of the grid.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// Position in the grid's order (the first parameter varies slowest).
    pub index: usize,
    /// The stable id: the first 16 hex digits of SHA-256 over the parameters sorted by name,
    /// each with its kind and exact value. Reordering the parameters, adding values or other
    /// runs does not change it.
    pub id: String,
    /// (name, value) in the grid's parameter order.
    pub params: Vec<(String, Value)>,
}

impl Run {
    /// The id of a set of parameters.
    pub fn id_of(params: &[(String, Value)]) -> String {
        let mut sorted: Vec<&(String, Value)> = params.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut h = Sha256::new();
        for (n, v) in sorted {
            h.update(n.as_bytes());
            h.update(b"=");
            h.update(v.canonical().as_bytes());
            h.update(b"\n");
        }
        h.finalize()[..8]
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    }

    /// "h=8 alpha=12 seed=0".
    pub fn label(&self) -> String {
        self.params
            .iter()
            .map(|(n, v)| format!("{n}={v}"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The parameters as a JSON object.
    pub fn params_json(&self) -> serde_json::Map<String, serde_json::Value> {
        self.params
            .iter()
            .map(|(n, v)| (n.clone(), v.to_json()))
            .collect()
    }
}

/// A sweep: a command and the parameter lists whose Cartesian product is the set of runs.
///
/// Each run executes `command` with every parameter appended as `--name value`, except the
/// parameters the command names as `{name}` in one of its words, which are substituted there
/// instead. `{output}` is the file the run may write its JSON result to and `{dir}` its private
/// working folder (also in the environment as `DD_RUN_OUTPUT` and `DD_RUN_DIR`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// Program and its fixed arguments.
    pub command: Vec<String>,
    /// The parameters; the first varies slowest.
    pub params: Vec<Param>,
}

/// The grid file format: `command` (a list of words, or one string split at whitespace) and
/// `params`, either a table `name = [values]` or a list of `{name, type, values}`.
#[derive(Deserialize)]
struct GridFile {
    command: CommandField,
    params: ParamsField,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum CommandField {
    Words(Vec<String>),
    Line(String),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ParamsField {
    List(Vec<Param>),
    Table(serde_json::Map<String, serde_json::Value>),
}

impl Grid {
    /// A checked grid: a non-empty command, at least one parameter, distinct names, every list
    /// non-empty and typed, and a number of runs that fits in memory.
    pub fn new(command: Vec<String>, params: Vec<Param>) -> Result<Self> {
        let g = Grid { command, params };
        g.check()?;
        Ok(g)
    }

    /// See [`Grid::new`].
    pub fn check(&self) -> Result<()> {
        if self.command.is_empty() || self.command[0].trim().is_empty() {
            return Err(Error::invalid(
                "command",
                format!("{:?}", self.command),
                "the grid needs a command to run",
            ));
        }
        if self.params.is_empty() {
            return Err(Error::invalid(
                "grid",
                "no parameters",
                "declare at least one parameter list (an empty grid has no runs)",
            ));
        }
        for (i, p) in self.params.iter().enumerate() {
            p.check()?;
            if self.params[..i].iter().any(|q| q.name == p.name) {
                return Err(Error::invalid(
                    "parameter name",
                    &p.name,
                    "is declared twice",
                ));
            }
            let mut seen = std::collections::HashSet::new();
            for v in &p.values {
                if !seen.insert(v.canonical()) {
                    return Err(Error::invalid(
                        "parameter values",
                        format!("{} = {v}", p.name),
                        "appears twice in the list (two runs would have the same id)",
                    ));
                }
            }
        }
        self.len().map(|_| ())
    }

    /// Number of runs (the product of the list lengths), checked against overflow and memory.
    pub fn len(&self) -> Result<usize> {
        let mut n: u128 = 1;
        for p in &self.params {
            n = n.saturating_mul(p.values.len() as u128);
        }
        let n = usize::try_from(n).unwrap_or(usize::MAX);
        // Each run holds its parameters (name and value) and an id.
        crate::check::check_alloc::<(String, Value)>("grid runs", n, self.params.len() + 1)?;
        Ok(n)
    }

    /// Always false for a checked grid.
    pub fn is_empty(&self) -> bool {
        self.params.iter().any(|p| p.values.is_empty())
    }

    /// A grid from TOML text:
    ///
    /// ```toml
    /// command = ["target/release/examples/sweep", "task", "dln-llc", "--quick"]
    /// [params]
    /// index = [0, 1, 2, 3]
    /// epsilon = [1e-6, 5e-7]
    /// ```
    pub fn from_toml(text: &str) -> Result<Self> {
        let v: toml::Table = toml::from_str(text).map_err(|e| {
            Error::Format(format!(
                "grid file (TOML): {}",
                super::one_line(&e.to_string())
            ))
        })?;
        let to_json = |v: &toml::Value| {
            serde_json::to_value(v).map_err(|e| Error::Format(format!("grid file (TOML): {e}")))
        };
        // A `params` table keeps the file's order (the first parameter varies slowest).
        match v.get("params") {
            Some(toml::Value::Table(t)) => {
                let command = v
                    .get("command")
                    .map(to_json)
                    .transpose()?
                    .unwrap_or(serde_json::Value::Null);
                let mut g = Self::from_value(
                    serde_json::json!({"command": command, "params": []}),
                    "TOML",
                    false,
                )?;
                g.params = t
                    .iter()
                    .map(|(n, x)| Param::from_json(n, &to_json(x)?))
                    .collect::<Result<_>>()?;
                g.check()?;
                Ok(g)
            }
            _ => Self::from_value(to_json(&toml::Value::Table(v))?, "TOML", true),
        }
    }

    /// A grid from JSON text (the same fields as [`Grid::from_toml`]; a `params` object is taken
    /// in name order, a list of `{"name", "type", "values"}` in its own order).
    pub fn from_json(text: &str) -> Result<Self> {
        let v: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| Error::Format(format!("grid file (JSON): {e}")))?;
        Self::from_value(v, "JSON", true)
    }

    /// A grid from a `.toml` or `.json` file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        match path.extension().and_then(|e| e.to_str()) {
            Some("toml") => Self::from_toml(&text),
            Some("json") => Self::from_json(&text),
            _ => Err(Error::invalid(
                "grid file",
                path.display(),
                "needs the extension .toml or .json",
            )),
        }
    }

    fn from_value(v: serde_json::Value, format: &str, check: bool) -> Result<Self> {
        let f: GridFile = serde_json::from_value(v).map_err(|e| {
            Error::Format(format!(
                "grid file ({format}): {e}; expected `command` and `params`"
            ))
        })?;
        let command = match f.command {
            CommandField::Words(w) => w,
            CommandField::Line(l) => l.split_whitespace().map(String::from).collect(),
        };
        let params = match f.params {
            ParamsField::List(l) => l,
            ParamsField::Table(t) => t
                .iter()
                .map(|(n, v)| Param::from_json(n, v))
                .collect::<Result<_>>()?,
        };
        let g = Grid { command, params };
        if check {
            g.check()?;
        }
        Ok(g)
    }

    /// Every run, the first parameter varying slowest.
    pub fn runs(&self) -> Result<Vec<Run>> {
        let n = self.len()?;
        let mut out = Vec::with_capacity(n);
        for index in 0..n {
            let mut rest = index;
            let mut params = vec![(String::new(), Value::Int(0)); self.params.len()];
            for (k, p) in self.params.iter().enumerate().rev() {
                let m = p.values.len();
                params[k] = (p.name.clone(), p.values[rest % m].clone());
                rest /= m;
            }
            out.push(Run {
                index,
                id: Run::id_of(&params),
                params,
            });
        }
        Ok(out)
    }

    /// The command line of a run: `{name}`, `{output}` and `{dir}` substituted, the other
    /// parameters appended as `--name value`.
    pub fn argv(&self, run: &Run, output: &Path, dir: &Path) -> Vec<String> {
        let mut used = vec![false; run.params.len()];
        let mut argv: Vec<String> = self
            .command
            .iter()
            .map(|w| {
                let mut w = w.replace("{output}", &output.display().to_string());
                w = w.replace("{dir}", &dir.display().to_string());
                for (k, (n, v)) in run.params.iter().enumerate() {
                    let key = format!("{{{n}}}");
                    if w.contains(&key) {
                        used[k] = true;
                        w = w.replace(&key, &v.to_string());
                    }
                }
                w
            })
            .collect();
        for (k, (n, v)) in run.params.iter().enumerate() {
            if !used[k] {
                argv.push(format!("--{n}"));
                argv.push(v.to_string());
            }
        }
        argv
    }

    /// The parameters by name.
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }

    /// The parameter names in order.
    pub fn names(&self) -> Vec<&str> {
        self.params.iter().map(|p| p.name.as_str()).collect()
    }

    /// Parameters of the runs by id (for looking records up).
    pub fn by_id(&self) -> Result<BTreeMap<String, Run>> {
        Ok(self
            .runs()?
            .into_iter()
            .map(|r| (r.id.clone(), r))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cartesian_order_and_ids() {
        let g = Grid::new(
            vec!["prog".into()],
            vec![
                Param::parse("h:int", &["4,8"]).unwrap(),
                Param::parse("alpha", &["0.5", "12"]).unwrap(),
            ],
        )
        .unwrap();
        let runs = g.runs().unwrap();
        assert_eq!(runs.len(), 4);
        assert_eq!(runs[1].params[0].1, Value::Int(4));
        assert_eq!(runs[1].params[1].1, Value::Float(12.0));
        assert_eq!(runs[2].params[0].1, Value::Int(8));
        // Ids do not depend on the parameter order.
        let swapped = vec![runs[1].params[1].clone(), runs[1].params[0].clone()];
        assert_eq!(Run::id_of(&swapped), runs[1].id);
        // An int and a float of the same number are different runs.
        let a = Run::id_of(&[("x".into(), Value::Int(1))]);
        let b = Run::id_of(&[("x".into(), Value::Float(1.0))]);
        assert_ne!(a, b);
        let ids: std::collections::HashSet<_> = runs.iter().map(|r| &r.id).collect();
        assert_eq!(ids.len(), 4);
    }

    #[test]
    fn argv_substitutes_and_appends() {
        let g = Grid::new(
            vec!["prog".into(), "--seed={seed}".into(), "{output}".into()],
            vec![
                Param::parse("seed", &["0..2"]).unwrap(),
                Param::parse("alpha:float", &["1e-3"]).unwrap(),
            ],
        )
        .unwrap();
        let r = &g.runs().unwrap()[1];
        let a = g.argv(r, Path::new("/o/r.json"), Path::new("/o"));
        assert_eq!(a, ["prog", "--seed=1", "/o/r.json", "--alpha", "0.001"]);
    }
}
