//! What the crate reads from the text of its `.cu` sources: every `extern "C" __global__` kernel
//! with its parameters, its `__launch_bounds__` and the static `__shared__` declarations of the
//! device functions it calls. The launch-signature test compares the parameters with the
//! launchers' declarations ([`super::launch`]); the emulated device ([`super::emulate`]) uses all
//! three to call the kernels and to check launches as the driver would.
//!
//! This is a reader for the crate's own sources, not a C++ parser: comments are dropped, line
//! continuations joined, and function-like `#define NAME(A, B)` macros expanded at the lines that
//! invoke them (`DD_INSTANTIATE(float, f32)`), which is how the sources instantiate their
//! templates.

/// One `extern "C" __global__` kernel of a source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KernelDecl {
    /// The entry point (`dd_kmat_f32`).
    pub name: String,
    /// (parameter name, C type with single spaces): `("x", "const float*")`.
    pub params: Vec<(String, String)>,
    /// The expression inside `__launch_bounds__(...)`, if any (`NT`).
    pub launch_bounds: Option<String>,
    /// The static `__shared__` variables of the kernel and of the device functions its body calls,
    /// as C types with the template parameter substituted (`float[BK][TM + 1]`, `int`).
    pub static_shared: Vec<String>,
}

/// Every kernel of a source's text, in source order.
pub fn kernels(text: &str) -> Vec<KernelDecl> {
    kernels_in(&preprocess(text))
}

/// [`kernels`] of an already [`preprocess`]ed source.
pub fn kernels_in(code: &str) -> Vec<KernelDecl> {
    let shared = shared_declarations(code);
    let marker = "extern \"C\" __global__ void";
    let mut out = Vec::new();
    for (start, _) in code.match_indices(marker) {
        let mut rest = code[start + marker.len()..].trim_start();
        let mut launch_bounds = None;
        if let Some(r) = rest.strip_prefix("__launch_bounds__(") {
            let close = matching(r, 0, '(', ')').unwrap_or(r.len());
            launch_bounds = Some(r[..close].trim().to_string());
            rest = &r[(close + 1).min(r.len())..];
        }
        let Some(open) = rest.find('(') else { continue };
        let name = rest[..open].trim().to_string();
        let Some(close) = matching(rest, open + 1, '(', ')') else {
            continue;
        };
        let params = rest[open + 1..close]
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(parameter)
            .collect();
        let body = rest[close..]
            .find('{')
            .and_then(|b| {
                let b = close + b;
                matching(rest, b + 1, '{', '}').map(|e| &rest[b + 1..e])
            })
            .unwrap_or("");
        let mut static_shared = Vec::new();
        for (function, decls) in &shared {
            if *function == name {
                static_shared.extend(decls.iter().cloned());
            }
            // A call of a template `f<float>(` substitutes its type for `T`.
            let call = format!("{function}<");
            for (at, _) in body.match_indices(&call) {
                if at > 0 && is_id(body[..at].chars().last().unwrap_or(' ')) {
                    continue;
                }
                let after = &body[at + call.len()..];
                let Some(end) = after.find('>') else { continue };
                let ty = after[..end].trim();
                static_shared.extend(decls.iter().map(|d| replace_word(d, "T", ty)));
                break;
            }
        }
        out.push(KernelDecl {
            name,
            params,
            launch_bounds,
            static_shared,
        });
    }
    out
}

fn is_id(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The identifier that ends `text` (after trailing spaces), or "".
fn trailing_identifier(text: &str) -> &str {
    let t = text.trim_end();
    let start = t
        .char_indices()
        .rev()
        .take_while(|&(_, c)| is_id(c))
        .last()
        .map_or(t.len(), |(i, _)| i);
    &t[start..]
}

/// The distinct dynamic shared-memory arrays of a preprocessed source: each `extern __shared__`
/// declaration as a definition without its extent (`thread_local __align__(16) unsigned char
/// dd_smem`), and the array's name.
pub fn dynamic_shared(code: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for (at, _) in code.match_indices("extern __shared__") {
        let decl = &code[at + "extern".len()..];
        let decl = &decl[..decl.find(';').unwrap_or(decl.len())];
        let Some(open) = decl.find("[]") else {
            continue;
        };
        let name = trailing_identifier(&decl[..open]).to_string();
        if !out.iter().any(|(_, n)| *n == name) {
            let definition = decl[..open].replace("__shared__", "thread_local");
            out.push((definition.trim().to_string(), name));
        }
    }
    out
}

/// The index of the `close` that ends the group whose content starts at `from`.
fn matching(text: &str, from: usize, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text[from..].char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            if depth == 0 {
                return Some(from + i);
            }
            depth -= 1;
        }
    }
    None
}

/// `const T* __restrict__ X` -> ("X", "const T*").
fn parameter(p: &str) -> (String, String) {
    let words: Vec<&str> = p
        .split_whitespace()
        .filter(|w| *w != "__restrict__")
        .collect();
    let (ty, id) = words.split_at(words.len().saturating_sub(1));
    let mut ty = ty.join(" ");
    let mut id = id.first().copied().unwrap_or("").to_string();
    while let Some(stripped) = id.strip_prefix('*') {
        ty.push('*');
        id = stripped.to_string();
    }
    (id, ty.replace(" *", "*"))
}

/// For every function body that declares static `__shared__` variables: the function's name and
/// the declarations' C types (`T[BK][TM + 1]`).
fn shared_declarations(code: &str) -> Vec<(String, Vec<String>)> {
    let mut out: Vec<(String, Vec<String>)> = Vec::new();
    // Depth-0 braces open function bodies (the sources have no namespaces or classes).
    let mut depth = 0usize;
    let mut header_start = 0usize;
    let mut current: Option<String> = None;
    let bytes: Vec<(usize, char)> = code.char_indices().collect();
    let mut k = 0;
    while k < bytes.len() {
        let (i, c) = bytes[k];
        match c {
            '{' => {
                if depth == 0 {
                    current = function_name(&code[header_start..i]);
                }
                depth += 1;
            }
            '}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    header_start = i + 1;
                    current = None;
                }
            }
            ';' if depth == 0 => header_start = i + 1,
            '_' if depth > 0 && code[i..].starts_with("__shared__") => {
                let before = code[..i].trim_end();
                let decl_end = code[i..].find(';').map_or(code.len(), |e| i + e);
                if !before.ends_with("extern")
                    && let Some(name) = &current
                {
                    let decl = code[i + "__shared__".len()..decl_end].trim();
                    if let Some(ty) = declaration_type(decl) {
                        match out.iter_mut().find(|(n, _)| n == name) {
                            Some((_, v)) => v.push(ty),
                            None => out.push((name.clone(), vec![ty])),
                        }
                    }
                }
                while k < bytes.len() && bytes[k].0 < decl_end {
                    k += 1;
                }
                continue;
            }
            _ => {}
        }
        k += 1;
    }
    out
}

/// The name of the function a header (`template <typename T> __device__ void f(...)`) declares.
fn function_name(header: &str) -> Option<String> {
    let mut from = 0;
    while let Some(open) = header[from..].find('(').map(|o| from + o) {
        let id = trailing_identifier(&header[..open]);
        if !id.is_empty() && id != "__launch_bounds__" && id != "__align__" {
            return Some(id.to_string());
        }
        from = open + 1;
    }
    None
}

/// `T xs[BK][TM + 1]` -> `T[BK][TM + 1]`; `int rotated` -> `int` (attributes dropped).
fn declaration_type(decl: &str) -> Option<String> {
    let decl = decl.split('=').next()?.trim();
    let (head, dims) = match decl.find('[') {
        Some(b) => (&decl[..b], &decl[b..]),
        None => (decl, ""),
    };
    let words: Vec<&str> = head
        .split_whitespace()
        .filter(|w| !w.starts_with("__align__") && !w.starts_with("__attribute__"))
        .collect();
    let (ty, _name) = words.split_at(words.len().checked_sub(1)?);
    (!ty.is_empty()).then(|| format!("{}{}", ty.join(" "), dims.trim()))
}

/// The source with comments removed, line continuations joined and the function-like
/// `#define NAME(A, B)` macros expanded at their invocations.
pub fn preprocess(text: &str) -> String {
    let joined = text.replace("\\\n", " ");
    let code: String = joined
        .lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n");
    // The definitions themselves are templates, not code: keep every other line.
    let mut out: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("#define "))
        .collect::<Vec<_>>()
        .join("\n");
    for line in code.lines() {
        let Some(def) = line.trim().strip_prefix("#define ") else {
            continue;
        };
        let Some((head, body)) = def.split_once(')') else {
            continue;
        };
        let Some((name, params)) = head.split_once('(') else {
            continue;
        };
        if name.contains(' ') {
            continue; // an object-like macro whose value has parentheses
        }
        let params: Vec<&str> = params.split(',').map(str::trim).collect();
        for call in code
            .lines()
            .filter(|l| l.trim_start().starts_with(&format!("{name}(")))
        {
            let inner = call
                .trim()
                .trim_start_matches(name)
                .trim_matches(|c| c == '(' || c == ')');
            let values: Vec<&str> = inner.split(',').map(str::trim).collect();
            let mut expansion = body.to_string();
            for (p, v) in params.iter().zip(&values) {
                expansion = replace_word(&expansion, p, v);
            }
            out.push('\n');
            out.push_str(&expansion.replace("##", ""));
        }
    }
    out
}

/// Replaces whole identifiers `word` in `text` (`SUF` in `dd_kmat_##SUF` counts as whole).
pub fn replace_word(text: &str, word: &str, by: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        let before = rest[..i].chars().last();
        let after = rest[i + word.len()..].chars().next();
        out.push_str(&rest[..i]);
        if before.is_some_and(is_id) && !rest[..i].ends_with("##") || after.is_some_and(is_id) {
            out.push_str(word);
        } else {
            out.push_str(by);
        }
        rest = &rest[i + word.len()..];
    }
    out + rest
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macro_kernels_parse_with_bounds_and_shared_memory() {
        let text = "template <typename T>\n__device__ void body(T* a) {\n  __shared__ T xs[BK][TM + 1];\n  extern __shared__ __align__(16) unsigned char dyn[];\n  __shared__ int flag;\n}\n#define INST(T, SUF) \\\n extern \"C\" __global__ void __launch_bounds__(NT) k_##SUF(const T* __restrict__ X, T* out, long long ld) { body<T>(out); }\nINST(float, f32)\n";
        let ks = kernels(text);
        assert_eq!(ks.len(), 1, "{ks:?}");
        let k = &ks[0];
        assert_eq!(k.name, "k_f32");
        assert_eq!(k.launch_bounds.as_deref(), Some("NT"));
        assert_eq!(
            k.params,
            [
                ("X".to_string(), "const float*".to_string()),
                ("out".to_string(), "float*".to_string()),
                ("ld".to_string(), "long long".to_string())
            ]
        );
        assert_eq!(k.static_shared, ["float[BK][TM + 1]", "int"]);
        assert_eq!(
            dynamic_shared(&preprocess(text)),
            [(
                "thread_local __align__(16) unsigned char dyn".to_string(),
                "dyn".to_string()
            )]
        );
    }
}
