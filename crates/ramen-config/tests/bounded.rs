//! Reading a config is bounded in memory: adversarial documents of at most 1 MiB (the most a
//! ConfigMap holds) never make the decoder allocate more than a few MiB, however they use aliases,
//! merge keys, duplicate or unknown keys and nesting.
//!
//! A counting global allocator measures the bytes each test's own thread allocates while parsing
//! (live at the peak, and in total): bytes, not wall-clock time, so the tests say the same on any
//! machine. Total bytes also bound the time: every step of the decoder that grows with the input
//! allocates.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use ramen_config::{ConfigError, parse_str};

/// Counts the bytes allocated by the current thread, so that tests running in parallel do not see
/// each other's allocations.
struct CountingAllocator;

thread_local! {
    static LIVE: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
    static TOTAL: Cell<usize> = const { Cell::new(0) };
}

fn on_alloc(size: usize) {
    // `try_with`: the thread's counters may already be gone while it exits.
    let _ = LIVE.try_with(|live| {
        let now = live.get().saturating_add(size);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
        let _ = TOTAL.try_with(|total| total.set(total.get().saturating_add(size)));
    });
}

fn on_dealloc(size: usize) {
    let _ = LIVE.try_with(|live| live.set(live.get().saturating_sub(size)));
}

// SAFETY: every call is forwarded to the system allocator unchanged; the counters are plain
// thread-local cells that never allocate.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        // SAFETY: the caller upholds `alloc`'s contract, which is `System.alloc`'s.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        on_alloc(layout.size());
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        on_dealloc(layout.size());
        // SAFETY: `ptr` was allocated by `System` with `layout`, as the caller guarantees.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        on_dealloc(layout.size());
        on_alloc(new_size);
        // SAFETY: as for `dealloc` and `alloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The most a ConfigMap holds.
const MAX_INPUT: usize = 1 << 20;
/// What parsing may hold at once beyond its input.
const PEAK_BUDGET: usize = 8 << 20;
/// What parsing may allocate in all.
const TOTAL_BUDGET: usize = 16 << 20;

/// Bytes allocated while parsing `yaml`: (peak live, total).
struct Cost {
    peak: usize,
    total: usize,
}

fn parse_measured(yaml: &str) -> (Result<ramen_config::Parsed, ConfigError>, Cost) {
    assert!(yaml.len() <= MAX_INPUT, "input is {} bytes", yaml.len());
    let start = LIVE.with(Cell::get);
    PEAK.with(|peak| peak.set(start));
    TOTAL.with(|total| total.set(0));
    let result = parse_str(yaml);
    let cost = Cost {
        peak: PEAK.with(Cell::get) - start,
        total: TOTAL.with(Cell::get),
    };
    (result, cost)
}

fn assert_bounded(cost: &Cost) {
    eprintln!("peak {} bytes, total {} bytes", cost.peak, cost.total);
    assert!(
        cost.peak <= PEAK_BUDGET,
        "peak {} bytes > {PEAK_BUDGET}",
        cost.peak
    );
    assert!(
        cost.total <= TOTAL_BUDGET,
        "total {} bytes > {TOTAL_BUDGET}",
        cost.total
    );
}

/// Repeats `line` after `head` while the document stays within 1 MiB.
fn fill(head: &str, mut line: impl FnMut(usize) -> String) -> String {
    let mut yaml = head.to_owned();
    for i in 0.. {
        let next = line(i);
        if yaml.len() + next.len() > MAX_INPUT {
            break;
        }
        yaml.push_str(&next);
    }
    yaml
}

fn parse_error(
    result: Result<ramen_config::Parsed, ConfigError>,
) -> (String, usize, usize, String) {
    match result {
        Err(ConfigError::Parse {
            path,
            line,
            column,
            message,
        }) => (path, line, column, message),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn a_wide_list_of_aliases_to_a_long_string_is_refused_at_the_alias_over_budget() {
    let long = "b".repeat(500 << 10);
    let yaml = fill(
        &format!("s3StoreProfiles:\n- &p {{s3Bucket: {long}}}\n"),
        |_| "- *p\n".to_owned(),
    );
    let (result, cost) = parse_measured(&yaml);
    let (path, line, column, message) = parse_error(result);
    assert_eq!(
        message,
        "aliases repeat more than 4194304 bytes of scalar text"
    );
    // 500 KiB a use: the ninth alias goes over 4 MiB.
    assert_eq!((path.as_str(), line, column), ("s3StoreProfiles[9]", 11, 3));
    assert_bounded(&cost);
}

#[test]
fn a_billion_laughs_through_merge_keys_into_a_decoded_section_is_refused() {
    // m0 has 10 keys; each further level merges 10 copies of the previous one, so m4 holds 100,000
    // pairs, which `drClusterOperator: *m4` would decode (and warn about) one by one.
    let mut yaml = String::from(
        "m0: &m0 {k0: v, k1: v, k2: v, k3: v, k4: v, k5: v, k6: v, k7: v, k8: v, k9: v}\n",
    );
    for level in 1..=4 {
        let previous = format!("*m{}", level - 1);
        let list = [previous.as_str(); 10].join(", ");
        yaml.push_str(&format!("m{level}: &m{level} {{<<: [{list}]}}\n"));
    }
    yaml.push_str("drClusterOperator: *m4\n");
    let (result, cost) = parse_measured(&yaml);
    let (_, line, _, message) = parse_error(result);
    assert!(
        message.starts_with("document expands to more than 50000 nodes"),
        "{message}"
    );
    assert_eq!(line, 5, "the alias over budget is in m4's list");
    assert_bounded(&cost);
}

#[test]
fn a_megabyte_of_duplicate_and_distinct_map_keys_is_refused_cheaply() {
    let yaml = fill("controller:\n  groupKindConcurrency:\n", |i| {
        format!("    K{}.g: 1\n    K{}.g: 2\n", i, i / 2)
    });
    let (result, cost) = parse_measured(&yaml);
    let (_, _, _, message) = parse_error(result);
    assert!(
        message.starts_with("document expands to more than 50000 nodes"),
        "{message}"
    );
    assert_bounded(&cost);
}

#[test]
fn many_duplicate_keys_within_the_node_budget_decode_cheaply() {
    // 12,000 pairs: 6,000 distinct keys, each written twice (a warning each, up to the cap).
    let mut yaml = String::from("controller:\n  groupKindConcurrency:\n");
    for i in 0..12_000 {
        yaml.push_str(&format!("    K{}.g: {i}\n", i % 6_000));
    }
    let (result, cost) = parse_measured(&yaml);
    let parsed = result.expect("decodes");
    let kinds = &parsed
        .config
        .controller
        .expect("controller")
        .group_kind_concurrency;
    assert_eq!(kinds.len(), 6_000);
    assert_eq!(kinds["K0.g"], 6_000, "the last value wins");
    assert_eq!(parsed.warnings.len(), 101);
    assert_bounded(&cost);
}

#[test]
fn a_megabyte_of_unknown_keys_is_refused_cheaply() {
    let yaml = fill("", |i| format!("unknownKey{i}: 1\n"));
    let (result, cost) = parse_measured(&yaml);
    let (_, _, _, message) = parse_error(result);
    assert!(
        message.starts_with("document expands to more than 50000 nodes"),
        "{message}"
    );
    assert_bounded(&cost);
}

#[test]
fn a_long_unknown_key_costs_no_more_than_its_length() {
    // "Did you mean" compares unknown keys with every field name; a key much longer than any
    // field cannot be a near miss, and must not be compared character by character.
    // An explicit key (`? key`): YAML limits implicit keys to 1024 characters.
    let yaml = format!(
        "drClusterOperator:\n  ? {}\n  : 1\n",
        "namespaceName".repeat(60_000)
    );
    let (result, cost) = parse_measured(&yaml);
    let parsed = result.expect("decodes");
    assert_eq!(parsed.warnings.len(), 1);
    assert_bounded(&cost);
}

#[test]
fn a_megabyte_of_deeply_nested_sequences_is_refused_cheaply() {
    // Each item nests 100 levels, within the depth limit; together they are too many nodes.
    let item = format!("- {}{}\n", "[".repeat(100), "]".repeat(100));
    let yaml = fill("unknownKey:\n", |_| item.clone());
    let (result, cost) = parse_measured(&yaml);
    let (path, _, _, message) = parse_error(result);
    assert!(
        message.starts_with("document expands to more than 50000 nodes"),
        "{message}"
    );
    assert!(path.starts_with("unknownKey["), "{path}");
    assert_bounded(&cost);
}
