//! Reading a seed note: which examples it holds, under which title, from which line.
//!
//! An example is a fenced Python code block outside a quote (```` ```python ````, any
//! case; quoted blocks are program output or signatures), split where [`SPLITS`] says a
//! block holds two programs, or — in a note without code, seed 004 — a numbered case
//! (`案例12`). Its title is the nearest title line above it: a Markdown heading, a
//! `==X==` line, a bold label (`**X**`, `- **X**(…)`), or a short plain line standing
//! alone between blank lines (`未加锁`) that does not merely follow a heading.
//!
//! [`SPLITS`]: super::tables::SPLITS

use crate::header::collapse_spaces;

use super::tables::SPLITS;

/// One example of a note.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NoteExample {
    /// The seed file's number, e.g. `001`.
    pub(crate) seed: String,
    /// 1-based line of the example's first code line in the note.
    pub(crate) line: usize,
    /// The note's title for it.
    pub(crate) section: String,
    /// The lines of its code, trimmed, blank ones left out (for a case: its line).
    pub(crate) code: Vec<String>,
}

impl NoteExample {
    /// The note's first code line of the example.
    pub(crate) fn first_line(&self) -> &str {
        self.code.first().map_or("", String::as_str)
    }

    /// Whether one of its code lines contains `key`.
    pub(crate) fn has_line_with(&self, key: &str) -> bool {
        let key = collapse_spaces(key);
        self.code
            .iter()
            .any(|line| collapse_spaces(line).contains(&key))
    }
}

/// A fence line (```` ``` ```` or longer), possibly inside a `>` quote.
struct Fence<'a> {
    ticks: usize,
    info: &'a str,
    quoted: bool,
}

fn fence(line: &str) -> Option<Fence<'_>> {
    let mut text = line.trim_start();
    let quoted = text.starts_with('>');
    if quoted {
        text = text.trim_start_matches('>').trim_start();
    }
    let ticks = text.len() - text.trim_start_matches('`').len();
    (ticks >= 3).then(|| Fence {
        ticks,
        info: text[ticks..].trim(),
        quoted,
    })
}

fn is_blank(lines: &[&str], i: Option<usize>) -> bool {
    i.and_then(|i| lines.get(i))
        .is_none_or(|l| l.trim().is_empty())
}

fn heading(text: &str) -> Option<String> {
    let rest = text.strip_prefix('#')?.trim_start_matches('#');
    let title = collapse_spaces(rest);
    (!title.is_empty()).then_some(title)
}

/// The title a line gives the examples below it, if it is a title line.
fn title_line(lines: &[&str], i: usize, prev_nonblank_is_heading: bool) -> Option<String> {
    let text = lines[i].trim();
    if let Some(title) = heading(text) {
        return Some(title);
    }
    if let Some(inner) = text
        .strip_prefix("==")
        .and_then(|t| t.strip_suffix("=="))
        .filter(|t| !t.trim().is_empty())
    {
        return Some(collapse_spaces(inner));
    }
    let unbulleted = ["- ", "* ", "+ "]
        .iter()
        .find_map(|b| text.strip_prefix(b))
        .map(str::trim_start);
    if let Some(bold) = unbulleted.unwrap_or(text).strip_prefix("**") {
        if let Some((inner, after)) = bold.split_once("**") {
            let inner = collapse_spaces(inner);
            // `- **Pool**(…)` is a label; a bold sentence (`**Note: …**`) is not.
            let label = if unbulleted.is_some() {
                true
            } else {
                after.trim().is_empty() && inner.chars().count() <= 20
            };
            if label && !inner.is_empty() {
                return Some(inner);
            }
        }
        return None;
    }
    const NOT_IN_LABELS: &str = "，,。.：:；;！!？?、()（）`|<>[]";
    let plain = unbulleted.is_none()
        && !text.is_empty()
        && !text.starts_with(['-', '*', '+', '>', '!', '='])
        && text.chars().count() <= 10
        && !text.contains(|c| NOT_IN_LABELS.contains(c))
        && is_blank(lines, i.checked_sub(1))
        && is_blank(lines, Some(i + 1))
        && !prev_nonblank_is_heading;
    plain.then(|| text.to_string())
}

/// The number of a case mentioned in `text` (`案例12`, `案例p02`), if any.
fn case_number(text: &str) -> Option<u32> {
    let (_, rest) = text.split_once("案例")?;
    let rest = rest.trim_start_matches(['p', 'P']);
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().ok()
}

/// The examples of the note `text` of seed `seed`, in the note's order.
pub(crate) fn examples(seed: &str, text: &str) -> Vec<NoteExample> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut title = String::new();
    let mut prev_nonblank_is_heading = false;
    let mut seen_cases = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if let Some(open) = fence(line) {
            // Find the closing fence; an unclosed block runs to the end of the note.
            let close = (i + 1..lines.len())
                .find(|&j| {
                    fence(lines[j]).is_some_and(|f| {
                        f.ticks >= open.ticks && f.info.is_empty() && f.quoted == open.quoted
                    })
                })
                .unwrap_or(lines.len());
            let python = open.info.to_ascii_lowercase().starts_with("py");
            if python && !open.quoted {
                code_block(seed, &title, &lines, i + 1, close, &mut out);
            }
            prev_nonblank_is_heading = false;
            i = close + 1;
            continue;
        }
        if line.trim().is_empty() {
            i += 1;
            continue;
        }
        if let Some(n) = case_number(line).filter(|n| !seen_cases.contains(n)) {
            seen_cases.push(n);
            out.push(NoteExample {
                seed: seed.to_string(),
                line: i + 1,
                section: format!("案例{n:02}"),
                code: vec![line.trim().to_string()],
            });
        }
        if let Some(t) = title_line(&lines, i, prev_nonblank_is_heading) {
            title = t;
        }
        prev_nonblank_is_heading = heading(line.trim()).is_some();
        i += 1;
    }
    out
}

/// The examples of the code between lines `start` and `end` (exclusive), split where
/// [`SPLITS`] names a line of this seed.
fn code_block(
    seed: &str,
    title: &str,
    lines: &[&str],
    start: usize,
    end: usize,
    out: &mut Vec<NoteExample>,
) {
    let mut current: Option<NoteExample> = None;
    for (j, line) in lines.iter().enumerate().take(end).skip(start) {
        let text = line.trim();
        let split = SPLITS.iter().any(|&(s, at)| s == seed && at == text);
        if split {
            out.extend(current.take());
            current = Some(NoteExample {
                seed: seed.to_string(),
                line: j + 1,
                section: collapse_spaces(text.trim_start_matches('#')),
                code: Vec::new(),
            });
        }
        if text.is_empty() {
            continue;
        }
        let example = current.get_or_insert_with(|| NoteExample {
            seed: seed.to_string(),
            line: j + 1,
            section: title.to_string(),
            code: Vec::new(),
        });
        example.code.push(text.to_string());
    }
    out.extend(current);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(seed: &str, text: &str) -> Vec<(String, String)> {
        examples(seed, text)
            .into_iter()
            .map(|e| (e.section.clone(), e.first_line().to_string()))
            .collect()
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn python_blocks_outside_quotes_are_examples() {
        let note = "# 多线程\n\n````python\nimport threading\n\nt = 1\n````\n\n> ```bash\n> output\n> ```\n\n```\nprose, no language\n```\n\n> ```python\n> acquire(blocking=True)\n> ```\n\n## 互斥锁\n\n```PYTHON\nmutex = threading.Lock()\n```\n";
        assert_eq!(
            titles("001", note),
            vec![
                pair("多线程", "import threading"),
                pair("互斥锁", "mutex = threading.Lock()")
            ]
        );
        let first = &examples("001", note)[0];
        assert_eq!(first.line, 4);
        assert_eq!(first.code, vec!["import threading", "t = 1"]);
        assert!(first.has_line_with("t  = 1"));
        assert!(!first.has_line_with("mutex"));
    }

    #[test]
    fn label_lines_title_the_blocks_below() {
        let note = "#### 进程池\n\n和线程池差不多\n\n```python\na = 1\n```\n\n==进程==\n\n```python\nb = 1\n```\n\n未加锁\n\n```python\nc = 1\n```\n\n- **Pool**(进程池的方式)\n\n```python\nd = 1\n```\n\n**Note: 一句很长很长很长很长很长很长很长很长很长的话**\n\n```python\ne = 1\n```\n\n**事件Event**\n\n```python\nf = 1\n```\n";
        assert_eq!(
            titles("000", note),
            vec![
                pair("进程池", "a = 1"),
                pair("进程", "b = 1"),
                pair("未加锁", "c = 1"),
                pair("Pool", "d = 1"),
                pair("Pool", "e = 1"),
                pair("事件Event", "f = 1"),
            ]
        );
    }

    #[test]
    fn cases_are_examples_once_each() {
        let note =
            "- 案例01:顺序执行\n- 案例p02:改用多线程\n    - 死锁问题: 案例12\n- 案例12 again\n";
        assert_eq!(
            titles("004", note),
            vec![
                pair("案例01", "- 案例01:顺序执行"),
                pair("案例02", "- 案例p02:改用多线程"),
                pair("案例12", "- 死锁问题: 案例12"),
            ]
        );
    }

    #[test]
    fn a_split_line_starts_a_second_example() {
        // SPLITS names `###  数据共享` for seed 000.
        let note = "#### 多进程\n\n```python\nimport time\np = 1\n\n###  数据共享\n\nli = 2\n```\n";
        let found = examples("000", note);
        assert_eq!(found.len(), 2);
        assert_eq!(found[0].section, "多进程");
        assert_eq!(found[0].code, vec!["import time", "p = 1"]);
        assert_eq!(found[1].section, "数据共享");
        assert_eq!(found[1].code, vec!["###  数据共享", "li = 2"]);
        assert_eq!(found[1].line, 7);
    }
}
