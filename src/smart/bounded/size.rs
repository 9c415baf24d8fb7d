//! Sizes without building text: serialized bytes counted ([`json_len`]), a value's weight in a
//! cache ([`weight`]), and values shrunk to a size before they are kept ([`shrink`]).

use serde::Serialize;
use serde_json::Value;

/// Counts bytes written; keeps none.
#[derive(Default)]
struct Count(usize);

impl std::io::Write for Count {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0 += buf.len();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The length of `v` serialized as compact JSON, counted without building the text.
pub fn json_len<T: Serialize + ?Sized>(v: &T) -> usize {
    let mut count = Count::default();
    match serde_json::to_writer(&mut count, v) {
        Ok(()) => count.0,
        Err(_) => usize::MAX,
    }
}

/// Counts bytes and the separators between values (`,`), keeping none.
#[derive(Default)]
struct CountItems {
    bytes: usize,
    items: usize,
}

impl std::io::Write for CountItems {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len();
        self.items += buf.iter().filter(|b| **b == b',').count();
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Bytes of memory charged per value held (a `String` or `Value` and its allocation), beyond its
/// serialized bytes: a list of a million one-letter strings is 4 MB as JSON but ten times that
/// in memory.
const PER_ITEM: usize = 48;

/// What holding `v` in memory costs, roughly: its compact JSON plus [`PER_ITEM`] for each value
/// in it; as a cache weight (moka's are `u32`), saturating.
pub fn weight<T: Serialize + ?Sized>(v: &T) -> u32 {
    let mut count = CountItems::default();
    if serde_json::to_writer(&mut count, v).is_err() {
        return u32::MAX;
    }
    let w = count
        .bytes
        .saturating_add(count.items.saturating_mul(PER_ITEM));
    u32::try_from(w).unwrap_or(u32::MAX)
}

/// Shrinks `v` until its compact JSON is at most `cap` bytes (roughly: a note is a few dozen
/// bytes): the largest members or elements are shrunk first, so small ones (tokens, ids) stay
/// whole while a hostile one is cut; strings keep their head and a note; members or elements
/// that still do not fit are dropped from the end, with a note saying how many.
pub fn shrink(v: &mut Value, cap: usize) {
    let len = json_len(v);
    shrink_sized(v, len, cap);
}

/// [`shrink`] for a value whose length is known; returns its new length. A container's
/// children are measured once per level (a single child's length follows from its parent's), so
/// a deep chain of arrays costs its length, not its length times its depth.
fn shrink_sized(v: &mut Value, len: usize, cap: usize) -> usize {
    if len <= cap {
        return len;
    }
    match v {
        Value::String(s) => {
            let keep = cap.saturating_sub(48).min(s.len());
            let mut end = keep;
            while !s.is_char_boundary(end) {
                end -= 1;
            }
            let cut = s.len() - end;
            s.truncate(end);
            s.push_str(&format!("… [{cut} bytes cut]"));
        }
        Value::Array(items) => {
            let sizes: Vec<usize> = if items.len() == 1 {
                vec![len - 2]
            } else {
                items.iter().map(json_len).collect()
            };
            let mut children: Vec<&mut Value> = items.iter_mut().collect();
            let sizes = fit_children(&mut children, sizes, len, cap);
            let kept = keep_within(&sizes, cap);
            if kept < items.len() {
                let cut = items.len() - kept;
                items.truncate(kept);
                items.push(Value::String(format!("[{cut} more elements cut]")));
            }
        }
        Value::Object(map) => {
            let sizes: Vec<usize> = map.values().map(json_len).collect();
            let mut children: Vec<&mut Value> = map.values_mut().collect();
            let sizes = fit_children(&mut children, sizes, len, cap);
            let with_keys: Vec<usize> = map
                .keys()
                .zip(&sizes)
                .map(|(k, s)| k.len() + 3 + s)
                .collect();
            let kept = keep_within(&with_keys, cap);
            if kept < map.len() {
                let cut = map.len() - kept;
                let keys: Vec<String> = map.keys().skip(kept).cloned().collect();
                for k in keys {
                    map.remove(&k);
                }
                map.insert(
                    "…".into(),
                    Value::String(format!("[{cut} more members cut]")),
                );
            }
        }
        _ => return len,
    }
    json_len(v)
}

/// Shrinks the largest children (of these sizes) first until the whole (`len` bytes) fits in
/// `cap`; no child is shrunk below an even share of the cap. Returns the children's new sizes.
fn fit_children(
    children: &mut [&mut Value],
    mut sizes: Vec<usize>,
    mut len: usize,
    cap: usize,
) -> Vec<usize> {
    let share = (cap / children.len().max(1)).max(64);
    let mut order: Vec<(usize, usize)> = sizes.iter().copied().zip(0..).collect();
    order.sort_by(|a, b| b.cmp(a));
    for (size, i) in order {
        if len <= cap || size <= share {
            break;
        }
        let target = share.max(size.saturating_sub(len - cap));
        let new = shrink_sized(children[i], size, target);
        len = len - size + new;
        sizes[i] = new;
    }
    sizes
}

/// How many of the leading items (of these sizes) fit in `cap`, with room for a note.
fn keep_within(sizes: &[usize], cap: usize) -> usize {
    if sizes.iter().sum::<usize>() + sizes.len() + 2 <= cap {
        return sizes.len();
    }
    let room = cap.saturating_sub(48);
    let mut used = 2;
    let mut kept = 0;
    for s in sizes {
        if used + s + 1 > room {
            break;
        }
        used += s + 1;
        kept += 1;
    }
    kept
}
