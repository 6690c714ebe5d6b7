//! The words people read: every page and email string lives in a Fluent catalogue
//! (`locales/<lang>.ftl`, compiled in), one file per language. A page's language is the first
//! of the browser's `Accept-Language` the gateway speaks, else the environment's `language`;
//! an email, read later and perhaps elsewhere, is in the environment's language.
//!
//! A key missing from a translation falls back to English, and a key missing from English
//! shows as the key itself: the completeness test keeps both from reaching people.

use std::sync::OnceLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use unic_langid::LanguageIdentifier;

/// A language the gateway speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Id,
    Nl,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::En, Lang::Id, Lang::Nl];

    /// The BCP 47 tag, as in `<html lang>` and the config's `language`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Id => "id",
            Lang::Nl => "nl",
        }
    }

    /// The language of a tag (`"nl"`, `"nl-BE"`, `"ID"`), when the gateway speaks it.
    pub fn parse(tag: &str) -> Option<Lang> {
        let id: LanguageIdentifier = tag.trim().parse().ok()?;
        Self::ALL
            .into_iter()
            .find(|l| id.language.as_str() == l.tag())
    }

    fn source(self) -> &'static str {
        match self {
            Lang::En => include_str!("locales/en.ftl"),
            Lang::Id => include_str!("locales/id.ftl"),
            Lang::Nl => include_str!("locales/nl.ftl"),
        }
    }
}

/// The language for a browser: the first entry of `Accept-Language`, by weight (`q=0` is a
/// refusal), that the gateway speaks; otherwise `default`.
pub fn negotiate(accept_language: Option<&str>, default: Lang) -> Lang {
    let Some(header) = accept_language else {
        return default;
    };
    let mut wanted: Vec<(f32, Lang)> = header
        .split(',')
        .filter_map(|entry| {
            let mut parts = entry.split(';');
            let lang = Lang::parse(parts.next()?)?;
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok())?;
            (q > 0.0).then_some((q, lang))
        })
        .collect();
    // Stable: equal weights keep the browser's order.
    wanted.sort_by(|a, b| b.0.total_cmp(&a.0));
    wanted.first().map_or(default, |w| w.1)
}

/// A value for a message's `{ $name }`.
pub type Arg<'a> = (&'a str, FluentValue<'a>);

fn bundles() -> &'static [FluentBundle<FluentResource>; 3] {
    static BUNDLES: OnceLock<[FluentBundle<FluentResource>; 3]> = OnceLock::new();
    BUNDLES.get_or_init(|| Lang::ALL.map(bundle))
}

fn bundle(lang: Lang) -> FluentBundle<FluentResource> {
    let id: LanguageIdentifier = lang.tag().parse().expect("a valid tag");
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // Pages are HTML and emails plain text: no invisible bidi marks around arguments.
    bundle.set_use_isolating(false);
    let resource = FluentResource::try_new(lang.source().to_string())
        .unwrap_or_else(|(_, errors)| panic!("locales/{}.ftl: {errors:?}", lang.tag()));
    bundle
        .add_resource(resource)
        .unwrap_or_else(|errors| panic!("locales/{}.ftl: {errors:?}", lang.tag()));
    bundle
}

/// The message `key` in `lang` with `args`, falling back to English, then to the key.
pub fn text(lang: Lang, key: &str, args: &[Arg<'_>]) -> String {
    let all = bundles();
    let found = [lang, Lang::En].into_iter().find_map(|l| {
        let b = &all[l as usize];
        Some((b, b.get_message(key)?.value()?))
    });
    let Some((bundle, pattern)) = found else {
        tracing::error!(key, "message missing from the catalogue");
        return key.to_string();
    };
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, value.clone());
    }
    let mut errors = Vec::new();
    let out = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    if !errors.is_empty() {
        tracing::error!(key, ?errors, "message could not be formatted");
    }
    out.into_owned()
}

/// Every message key of a language's catalogue, for the completeness test.
pub fn keys(lang: Lang) -> Vec<String> {
    let resource = FluentResource::try_new(lang.source().to_string()).expect("parses");
    resource
        .entries()
        .filter_map(|e| match e {
            fluent_syntax::ast::Entry::Message(m) => Some(m.id.name.to_string()),
            _ => None,
        })
        .collect()
}

/// A language's words for one request or one email: `t.get("key")`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Words(pub Lang);

impl Words {
    pub fn get(self, key: &str) -> String {
        text(self.0, key, &[])
    }

    pub fn with(self, key: &str, args: &[Arg<'_>]) -> String {
        text(self.0, key, args)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_browsers_first_spoken_language_wins_by_weight() {
        let n = |h| negotiate(Some(h), Lang::En);
        assert_eq!(n("nl-NL,nl;q=0.9,en;q=0.8"), Lang::Nl);
        assert_eq!(n("fr-FR,id;q=0.5,nl;q=0.4"), Lang::Id);
        assert_eq!(n("en;q=0.2,nl;q=0.9"), Lang::Nl);
        assert_eq!(n("nl;q=0,id"), Lang::Id);
        assert_eq!(n("fr,de"), Lang::En);
        assert_eq!(negotiate(Some("fr"), Lang::Id), Lang::Id);
        assert_eq!(negotiate(None, Lang::Nl), Lang::Nl);
        assert_eq!(n("NL-be"), Lang::Nl);
        assert_eq!(n(";;,=,q=,nl;q=x"), Lang::En);
    }

    /// Every key of every language exists in every other; none is empty; every
    /// `{ $argument }` of an English message is used by each translation.
    #[test]
    fn every_message_exists_in_every_language_with_the_same_arguments() {
        let english = keys(Lang::En);
        assert!(
            english.len() > 100,
            "the catalogue holds the product's words"
        );
        for lang in Lang::ALL {
            let mut have = keys(lang);
            let mut want = english.clone();
            have.sort();
            want.sort();
            assert_eq!(have, want, "keys of locales/{}.ftl", lang.tag());
            for key in &english {
                let src = lang.source();
                let text = text(lang, key, &[]);
                assert!(!text.trim().is_empty(), "{}: {key} is empty", lang.tag());
                for arg in arguments(Lang::En.source(), key) {
                    assert!(
                        arguments(src, key).contains(&arg),
                        "{}: {key} does not use ${arg}",
                        lang.tag()
                    );
                }
            }
        }
    }

    /// The `$names` a message of `source` uses.
    fn arguments(source: &str, key: &str) -> Vec<String> {
        let start = source
            .lines()
            .position(|l| l.starts_with(&format!("{key} =")))
            .unwrap_or_else(|| panic!("{key}"));
        let body: Vec<&str> = source
            .lines()
            .skip(start)
            .enumerate()
            .take_while(|(i, l)| *i == 0 || l.starts_with(' '))
            .map(|(_, l)| l)
            .collect();
        let body = body.join("\n");
        body.split('$')
            .skip(1)
            .map(|s| {
                s.chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '-')
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_missing_translation_falls_back_to_english_then_to_the_key() {
        assert_eq!(text(Lang::Nl, "no-such-key", &[]), "no-such-key");
        let args = [("secs", FluentValue::from(30))];
        assert!(text(Lang::En, "email-wait", &args).contains("30"));
    }
}
