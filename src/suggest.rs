//! "Did you mean ...?": the closest candidate to a mistyped name, if one is close enough.
//!
//! Pure string distance over the names the caller passes; it knows nothing of the table.

/// The candidate closest to `input`, if it is close enough to be the likely intent.
///
/// Closeness is the Damerau-Levenshtein distance (optimal string alignment: insertions,
/// deletions, substitutions and swaps of neighbours each cost 1), compared case-insensitively.
/// A candidate qualifies when its distance is at most a third of the input's length, at
/// least 1 and at most 2. On a tie the earliest candidate wins, so the answer is
/// deterministic for a given order.
pub(crate) fn closest<'a>(
    input: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let input = input.to_lowercase();
    let limit = (input.chars().count() / 3).clamp(1, 2);
    let mut best: Option<(usize, &'a str)> = None;
    for candidate in candidates {
        let d = distance(&input, &candidate.to_lowercase());
        if d <= limit && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// The optimal-string-alignment distance between `a` and `b`, counted in characters.
pub(crate) fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rolling rows: two back (for swaps), previous, current.
    let mut two_back: Vec<usize> = vec![0; b.len() + 1];
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(two_back[j - 2] + 1);
            }
            cur[j] = d;
        }
        std::mem::swap(&mut two_back, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_counts_edits() {
        assert_eq!(distance("", ""), 0);
        assert_eq!(distance("abc", ""), 3);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("list", "list"), 0);
        assert_eq!(distance("lst", "list"), 1);
        assert_eq!(distance("lsit", "list"), 1, "a swap costs one");
        assert_eq!(distance("usrname", "username"), 1);
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("café", "cafe"), 1, "counts characters, not bytes");
    }

    #[test]
    fn suggests_close_names() {
        let commands = ["list", "get", "create", "delete"];
        assert_eq!(closest("lst", commands), Some("list"));
        assert_eq!(closest("lsit", commands), Some("list"));
        assert_eq!(closest("craete", commands), Some("create"));
        assert_eq!(closest("delte", commands), Some("delete"));
        assert_eq!(closest("LIST", commands), Some("list"));
        assert_eq!(
            closest("username", ["usrname", "display-name"]),
            Some("usrname")
        );
    }

    #[test]
    fn rejects_far_names() {
        let commands = ["list", "get", "create", "delete"];
        assert_eq!(closest("frobnicate", commands), None);
        assert_eq!(closest("xy", commands), None);
        assert_eq!(closest("zzz", commands), None);
        assert_eq!(closest("anything", std::iter::empty()), None);
    }

    #[test]
    fn ties_go_to_the_first_candidate() {
        assert_eq!(closest("gat", ["get", "got"]), Some("get"));
        assert_eq!(closest("gat", ["got", "get"]), Some("got"));
    }
}
