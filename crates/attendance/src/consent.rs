//! Consent to a pupil's face being used (their biometric data): who said what, and what that
//! means. In England and Wales (Protection of Freedoms Act 2012 ss. 26–28) a school needs a
//! parent's written consent, and the child's own refusal or objection overrides it; GDPR Art. 9
//! asks for explicit consent that can be withdrawn at any time.
//!
//! ```text
//! the last word of each party          standing      faces used?
//! (none)                               not_asked     no
//! guardian: given                      given         yes
//! guardian: given, pupil: refused      refused       no   (the child's refusal wins)
//! guardian: withdrawn                  withdrawn     no   (and the biometric data is erased)
//! ```

use std::fmt;

/// What one party said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentState {
    /// Agreed to the purpose shown.
    Given,
    /// Declined.
    Refused,
    /// Agreed before, not any more.
    Withdrawn,
}

/// Who said it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentBy {
    /// A parent or guardian.
    Guardian,
    /// The pupil themselves.
    Pupil,
}

/// One entry of a pupil's consent history, oldest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsentRecord {
    /// What was said.
    pub state: ConsentState,
    /// By whom.
    pub by: ConsentBy,
}

/// Where a pupil stands, from their history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Consent {
    /// Nobody was asked yet.
    NotAsked,
    /// Given, and nobody refused or withdrew since: the only standing under which faces are used.
    Given,
    /// Someone's last word is a refusal.
    Refused,
    /// Someone's last word is a withdrawal.
    Withdrawn,
}

macro_rules! names {
    ($t:ty { $($v:ident = $s:literal),+ }) => {
        impl $t {
            /// The name on the wire.
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$v => $s),+ }
            }
            /// The value of that name, or `None`.
            pub fn parse(name: &str) -> Option<Self> {
                match name { $($s => Some(Self::$v),)+ _ => None }
            }
        }
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
names!(ConsentState { Given = "given", Refused = "refused", Withdrawn = "withdrawn" });
names!(ConsentBy { Guardian = "guardian", Pupil = "pupil" });
names!(Consent { NotAsked = "not_asked", Given = "given", Refused = "refused", Withdrawn = "withdrawn" });

impl Consent {
    /// Whether the pupil's face may be enrolled and matched.
    pub fn allows_biometrics(self) -> bool {
        self == Consent::Given
    }
}

/// The standing of a history (oldest first): each party's last word counts; a refusal or a
/// withdrawal by either wins over a consent by the other.
pub fn standing(history: &[ConsentRecord]) -> Consent {
    let last = |by: ConsentBy| history.iter().rev().find(|r| r.by == by).map(|r| r.state);
    let words = [last(ConsentBy::Guardian), last(ConsentBy::Pupil)];
    if words.contains(&Some(ConsentState::Refused)) {
        Consent::Refused
    } else if words.contains(&Some(ConsentState::Withdrawn)) {
        Consent::Withdrawn
    } else if words.contains(&Some(ConsentState::Given)) {
        Consent::Given
    } else {
        Consent::NotAsked
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConsentBy::{Guardian, Pupil};
    use ConsentState::{Given, Refused, Withdrawn};

    fn history(words: &[(ConsentState, ConsentBy)]) -> Consent {
        standing(&words.iter().map(|&(state, by)| ConsentRecord { state, by }).collect::<Vec<_>>())
    }

    #[test]
    fn each_partys_last_word_counts_and_a_refusal_wins() {
        assert_eq!(history(&[]), Consent::NotAsked);
        assert_eq!(history(&[(Given, Guardian)]), Consent::Given);
        assert_eq!(history(&[(Given, Guardian), (Refused, Pupil)]), Consent::Refused, "the child's refusal wins");
        assert_eq!(history(&[(Refused, Guardian), (Given, Pupil)]), Consent::Refused);
        assert_eq!(history(&[(Given, Guardian), (Withdrawn, Guardian)]), Consent::Withdrawn);
        assert_eq!(
            history(&[(Given, Guardian), (Withdrawn, Guardian), (Given, Guardian)]),
            Consent::Given,
            "given again"
        );
        assert_eq!(
            history(&[(Given, Guardian), (Refused, Pupil), (Given, Pupil)]),
            Consent::Given,
            "the pupil changed their mind"
        );
        assert!(Consent::Given.allows_biometrics() && !Consent::NotAsked.allows_biometrics());
        assert_eq!(Consent::parse("not_asked"), Some(Consent::NotAsked));
        assert_eq!(ConsentBy::parse("teacher"), None);
    }
}
