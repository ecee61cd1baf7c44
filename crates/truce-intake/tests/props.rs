//! Property tests: any input -> no panic, spans inside the input on char
//! boundaries, and `text` equal to the span (plain text).

use proptest::prelude::*;
use truce_intake::{Document, Extractor, Fact, Format, RuleExtractor};

fn check(input: &str, format: Format, facts: &[Fact]) {
    for f in facts {
        assert!(f.start <= f.end && f.end <= input.len(), "{f:?}");
        assert!(
            input.is_char_boundary(f.start) && input.is_char_boundary(f.end),
            "{f:?}"
        );
        if format == Format::Plain {
            assert_eq!(&input[f.start..f.end], f.text);
        }
    }
}

fn run(input: &str) {
    let ex = RuleExtractor::default();
    for format in [Format::Plain, Format::Html] {
        let doc = Document {
            text: input,
            format,
            published: jiff::civil::Date::new(2024, 2, 29).ok(),
        };
        check(input, format, &ex.extract(&doc));
    }
}

/// Fragments that exercise the rules, glued together at random.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("120 tonnes of flour".to_string()),
        Just("more than 1,200 people returned to Khankendi".to_string()),
        Just(" on Thursday".to_string()),
        Just("12 March 2024".to_string()),
        Just("no ceasefire violations were recorded. ".to_string()),
        Just("<p class=\"related\">Also read".to_string()),
        Just("&amp;&#x41;&#99999999;&".to_string()),
        Just("Ստեփանակերտ Степанакерт Xankəndi İ".to_string()),
        Just("</p><script>1 tonne</script>".to_string()),
        Just("two hundred and fifty-five".to_string()),
        Just("12.03.2024 2024-03-12 5 to 11 June".to_string()),
        "\\PC{0,12}",
        any::<char>().prop_map(|c| c.to_string()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_strings_never_panic(s in "\\PC{0,200}") {
        run(&s);
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        run(&String::from_utf8_lossy(&b));
    }

    #[test]
    fn rule_fragments_never_panic(parts in proptest::collection::vec(fragment(), 0..12)) {
        run(&parts.concat());
    }
}

#[test]
fn html_spans_point_at_the_page() {
    let page = "<p>A convoy brought <b>120</b>&nbsp;tonnes of flour to Goris.</p>";
    let facts = RuleExtractor::default().extract(&Document::plain(page).format(Format::Html));
    check(page, Format::Html, &facts);
    let place = facts
        .iter()
        .find(|f| f.data.kind() == "place")
        .expect("a place");
    assert_eq!(&page[place.start..place.end], "Goris");
}
