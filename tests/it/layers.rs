//! The crate's layering, checked from the source: every `use` line and
//! every `crate::`/`super::` path in `src/` (test-only code excluded) is an
//! edge from the module that writes it to the module it names. Modules are
//! grouped into units (`UNITS`, one responsibility each); a unit may use
//! only units of a lower rank, so imports cannot form a circle. Inside a
//! unit files may use each other (engine/'s files are one `impl Engine`
//! split by topic).
//!
//! `NEURALDB_LAYERS=print cargo test layers` prints the unit graph.
//! `sqlparser_stays_in_translate` keeps the parser crate's types out of
//! every module but `sql::parse::translate` (DESIGN.md, invariant 3).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Units from the bottom up: (rank, module path prefix). A module belongs
/// to the unit with the longest matching prefix. Equal ranks are siblings:
/// neither may use the other.
const UNITS: &[(u32, &str)] = &[
    (0, "util"),
    (0, "sqlstate"),
    (1, "storage"),
    (1, "txn::ids"),
    (2, "wal"),
    (3, "pager"),
    (4, "heap"),
    (5, "btree"),
    (5, "error"),
    (6, "value"),
    (7, "txn"),
    (8, "catalog"),
    (9, "access"),
    (10, "sql::parse"),
    (11, "sql::functions"),
    (11, "sql::resolve"),
    (12, "sql::plan"),
    (13, "sql::exec"),
    (14, "engine"),
    (15, "server"),
    (15, "wasm"),
    // The crate root and `sql` only declare modules (the root also
    // re-exports the API).
    (16, "sql"),
    (16, ""),
];

struct SourceFile {
    module: String,
    path: PathBuf,
    code: String,
}

#[test]
fn imports_point_down_the_layers() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let files = source_files(&src);
    let modules: BTreeSet<String> = files.iter().map(|f| f.module.clone()).collect();
    let mut violations = Vec::new();
    let mut unit_edges: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for f in &files {
        let (from_rank, from_unit) = unit_of(&f.module);
        for (line, target) in references(&f.code, &f.module, &modules) {
            let (to_rank, to_unit) = unit_of(&target);
            if from_unit == to_unit {
                continue;
            }
            let at = format!("{}:{line} -> {target}", f.path.display());
            unit_edges
                .entry((from_unit.to_string(), to_unit.to_string()))
                .or_default()
                .insert(at.clone());
            if to_rank >= from_rank {
                violations.push(format!(
                    "{at}: unit `{from_unit}` (rank {from_rank}) uses `{to_unit}` (rank {to_rank})"
                ));
            }
        }
    }
    if std::env::var("NEURALDB_LAYERS").as_deref() == Ok("print") {
        for ((from, to), sites) in &unit_edges {
            println!(
                "{from} -> {to}: {}",
                sites.iter().next().expect("non-empty")
            );
        }
    }
    assert!(
        violations.is_empty(),
        "imports that point up or sideways:\n{}",
        violations.join("\n")
    );
}

/// Every checked file must belong to a declared unit, so a new module gets
/// a place in the layering instead of slipping past the check.
#[test]
fn every_module_has_a_unit() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let unplaced: Vec<String> = source_files(&src)
        .into_iter()
        .filter(|f| !f.module.is_empty() && unit_of(&f.module).1.is_empty())
        .map(|f| f.module)
        .collect();
    assert!(unplaced.is_empty(), "modules without a unit: {unplaced:?}");
}

/// sqlparser's AST is translated into ours in one place; everything else
/// sees only `sql::parse::ast`, so a sqlparser upgrade touches one file.
#[test]
fn sqlparser_stays_in_translate() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let users: Vec<String> = source_files(&src)
        .into_iter()
        .filter(|f| {
            f.module != "sql::parse::translate" && !f.module.starts_with("sql::parse::translate::")
        })
        .filter(|f| {
            f.code
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|w| w == "sqlparser")
        })
        .map(|f| f.path.display().to_string())
        .collect();
    assert!(
        users.is_empty(),
        "sqlparser used outside sql/parse/translate/: {users:?}"
    );
}

fn unit_of(module: &str) -> (u32, &'static str) {
    UNITS
        .iter()
        .filter(|(_, p)| {
            p.is_empty()
                || module == *p
                || module
                    .strip_prefix(*p)
                    .is_some_and(|rest| rest.starts_with("::"))
        })
        .max_by_key(|(_, p)| p.len())
        .map(|&(r, p)| (r, p))
        .expect("the root unit matches everything")
}

/// The library's source files (not `src/bin`, whose programs use the crate
/// from outside), minus test-only modules.
fn source_files(src: &Path) -> Vec<SourceFile> {
    let mut out = Vec::new();
    let mut stack = vec![src.to_path_buf()];
    let mut paths = Vec::new();
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("src/ is readable") {
            let p = entry.expect("directory entry").path();
            if p.is_dir() {
                if p != src.join("bin") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|e| e == "rs") {
                paths.push(p);
            }
        }
    }
    paths.sort();
    let mut test_only = BTreeSet::new();
    let mut parsed = Vec::new();
    for p in paths {
        let rel = p.strip_prefix(src).expect("under src/");
        let mut parts: Vec<String> = rel
            .iter()
            .map(|s| s.to_string_lossy().trim_end_matches(".rs").to_string())
            .collect();
        if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
            parts.pop();
        }
        let module = parts.join("::");
        let text = std::fs::read_to_string(&p).expect("source is UTF-8");
        let (code, tests) = strip_tests(&blank_comments_and_strings(&text));
        for t in tests {
            test_only.insert(join(&module, &t));
        }
        parsed.push(SourceFile {
            module,
            path: p,
            code,
        });
    }
    for f in parsed {
        let is_test = test_only
            .iter()
            .any(|t| f.module == *t || f.module.starts_with(&format!("{t}::")));
        if !is_test {
            out.push(f);
        }
    }
    out
}

fn join(module: &str, child: &str) -> String {
    if module.is_empty() {
        child.to_string()
    } else {
        format!("{module}::{child}")
    }
}

/// Replaces comments and the contents of string and char literals with
/// spaces (newlines kept, so line numbers stay right).
fn blank_comments_and_strings(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |c: char| if c == '\n' { '\n' } else { ' ' };
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                out.push(' ');
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    out.push_str("  ");
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    out.push_str("  ");
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && !ident_char(&b, i) {
            // Raw string: r"..." or r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            out.push('"');
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                out.push(blank(b[j]));
                j += 1;
            }
            out.push('"');
            i = j;
        } else if c == '"' {
            out.push('"');
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    out.push(' ');
                    i += 1;
                }
                if i < b.len() {
                    out.push(blank(b[i]));
                    i += 1;
                }
            }
            out.push('"');
            i += 1;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            let close = if next == Some('\\') {
                (i + 2..b.len().min(i + 12)).find(|&j| b[j] == '\'')
            } else if b.get(i + 2) == Some(&'\'') {
                Some(i + 2)
            } else {
                None
            };
            match close {
                Some(j) => {
                    out.push_str(&" ".repeat(j - i + 1));
                    i = j + 1;
                }
                None => {
                    out.push(c);
                    i += 1;
                }
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

fn ident_char(b: &[char], i: usize) -> bool {
    i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_')
}

/// Removes `#[cfg(test)]` items: inline modules and functions are blanked
/// out; the names of `#[cfg(test)] mod x;` declarations are returned.
fn strip_tests(code: &str) -> (String, Vec<String>) {
    let mut out: Vec<char> = code.chars().collect();
    let mut declared = Vec::new();
    let marker: Vec<char> = "#[cfg(test)]".chars().collect();
    let mut i = 0;
    while i + marker.len() <= out.len() {
        if out[i..i + marker.len()] != marker[..] {
            i += 1;
            continue;
        }
        let start = i;
        let mut j = i + marker.len();
        // The item ends at the first `;` before any `{`, or at the `}`
        // matching the first `{`.
        while j < out.len() && out[j] != ';' && out[j] != '{' {
            j += 1;
        }
        if j < out.len() && out[j] == ';' {
            let item: String = out[start + marker.len()..j].iter().collect();
            let words: Vec<&str> = item.split_whitespace().collect();
            if let Some(pos) = words.iter().position(|w| *w == "mod") {
                if let Some(name) = words.get(pos + 1) {
                    declared.push(name.to_string());
                }
            }
        } else {
            let mut depth = 0;
            while j < out.len() {
                match out[j] {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
        }
        let end = j.min(out.len() - 1);
        for c in &mut out[start..=end] {
            if *c != '\n' {
                *c = ' ';
            }
        }
        i = end + 1;
    }
    (out.into_iter().collect(), declared)
}

/// (line, module) for every module that `code` (of `module`) names.
fn references(code: &str, module: &str, modules: &BTreeSet<String>) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let children: BTreeSet<String> = modules
        .iter()
        .filter_map(|m| {
            let rest = if module.is_empty() {
                Some(m.as_str())
            } else {
                m.strip_prefix(&format!("{module}::"))
            }?;
            (!rest.contains("::") && !rest.is_empty()).then(|| rest.to_string())
        })
        .collect();
    let line_of = |pos: usize| code[..pos].matches('\n').count() + 1;
    // `use` trees: expand braces into full paths.
    let mut rest_code = code.to_string();
    let mut search = 0;
    while let Some(found) = find_word(&rest_code[search..], "use") {
        let at = search + found;
        let Some(semi) = rest_code[at..].find(';') else {
            break;
        };
        let tree = rest_code[at + 3..at + semi].to_string();
        for path in expand_use_tree(&tree) {
            if let Some(target) = resolve(&path, module, modules, &children, true) {
                out.push((line_of(at), target));
            }
        }
        let blanked: String = rest_code[at..at + semi]
            .chars()
            .map(|c| if c == '\n' { '\n' } else { ' ' })
            .collect();
        rest_code.replace_range(at..at + semi, &blanked);
        search = at + semi;
    }
    // Paths in code: crate::a::b, super::x, self::x.
    let chars: Vec<char> = rest_code.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let starts_word = i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_');
        let head = ["crate::", "super::", "self::"]
            .into_iter()
            .find(|h| starts_word && chars[i..].iter().take(h.len()).copied().eq(h.chars()));
        let Some(_) = head else {
            i += 1;
            continue;
        };
        let mut j = i;
        while j < chars.len() && (chars[j].is_alphanumeric() || chars[j] == '_' || chars[j] == ':')
        {
            j += 1;
        }
        let path: Vec<String> = chars[i..j]
            .iter()
            .collect::<String>()
            .split("::")
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect();
        let byte_pos = chars[..i].iter().map(|c| c.len_utf8()).sum();
        if let Some(target) = resolve(&path, module, modules, &children, false) {
            out.push((line_of(byte_pos), target));
        }
        i = j;
    }
    out
}

fn find_word(s: &str, word: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let mut from = 0;
    while let Some(p) = s[from..].find(word) {
        let at = from + p;
        let before_ok =
            at == 0 || !(bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_');
        let after = bytes.get(at + word.len()).copied();
        let after_ok = after.is_some_and(|c| c.is_ascii_whitespace() || c == b'{');
        if before_ok && after_ok {
            return Some(at);
        }
        from = at + word.len();
    }
    None
}

/// `a::{b, c::{d, e}}` -> [[a, b], [a, c, d], [a, c, e]].
fn expand_use_tree(tree: &str) -> Vec<Vec<String>> {
    fn parse(s: &[char], i: &mut usize, prefix: &[String], out: &mut Vec<Vec<String>>) {
        let mut path = prefix.to_vec();
        let mut seg = String::new();
        while *i < s.len() {
            let c = s[*i];
            if c == '{' {
                *i += 1;
                loop {
                    parse(s, i, &path, out);
                    if *i < s.len() && s[*i] == ',' {
                        *i += 1;
                        continue;
                    }
                    break;
                }
                if *i < s.len() && s[*i] == '}' {
                    *i += 1;
                }
                return;
            } else if c == ',' || c == '}' {
                break;
            } else if c == ':' {
                if !seg.is_empty() {
                    path.push(std::mem::take(&mut seg));
                }
                *i += 1;
            } else if c.is_whitespace() {
                *i += 1;
                // `x as y`: the alias does not change the path.
                let rest: String = s[*i..].iter().take(3).collect();
                if rest.starts_with("as ") {
                    *i += 3;
                    while *i < s.len() && !matches!(s[*i], ',' | '}') {
                        *i += 1;
                    }
                }
            } else {
                seg.push(c);
                *i += 1;
            }
        }
        if !seg.is_empty() {
            path.push(seg);
        }
        if !path.is_empty() {
            out.push(path);
        }
    }
    let s: Vec<char> = tree.trim().chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    parse(&s, &mut i, &[], &mut out);
    out
}

/// The deepest module a path names, seen from `module`.
fn resolve(
    path: &[String],
    module: &str,
    modules: &BTreeSet<String>,
    children: &BTreeSet<String>,
    in_use: bool,
) -> Option<String> {
    let mut base: Vec<String> = match path.first().map(String::as_str) {
        Some("crate") => Vec::new(),
        Some("super") | Some("self") => {
            let mut b: Vec<String> = if module.is_empty() {
                Vec::new()
            } else {
                module.split("::").map(str::to_string).collect()
            };
            let mut k = 0;
            while path.get(k).map(String::as_str) == Some("super") {
                b.pop();
                k += 1;
            }
            if path.get(k).map(String::as_str) == Some("self") {
                k += 1;
            }
            b.extend(path[k..].iter().cloned());
            return deepest(&b, modules);
        }
        // In a `use`, a bare first segment may name a child module.
        Some(first) if in_use && children.contains(first) => {
            let mut b: Vec<String> = if module.is_empty() {
                Vec::new()
            } else {
                module.split("::").map(str::to_string).collect()
            };
            b.extend(path.iter().cloned());
            return deepest(&b, modules);
        }
        _ => return None,
    };
    base.extend(path[1..].iter().cloned());
    deepest(&base, modules)
}

fn deepest(path: &[String], modules: &BTreeSet<String>) -> Option<String> {
    (0..=path.len())
        .rev()
        .map(|n| path[..n].join("::"))
        .find(|m| modules.contains(m))
}
