//! The push editor's state and keys: edit the device's configuration, see
//! the unified diff, give a reason, and confirm by typing the device's name.
//! Pure: sending is an effect the run loop performs.

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use ratatui_textarea::TextArea;

use crate::console::msg::Edit;
use crate::domain::Id;
use crate::domain::push::{Push, PushState};

/// Where the editor is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Waiting for the device's configuration.
    Loading,
    /// Editing.
    Edit,
    /// The diff, the reason and the typed confirmation.
    Review,
    /// Sent; waiting for the worker's answer.
    Sending,
}

/// The field typed into on the review step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Reason,
    Confirm,
}

/// A push being prepared.
pub struct Draft {
    pub tenant: Id,
    /// The device whose configuration is edited (a rollout's canary).
    pub device: Id,
    pub name: String,
    /// Every device the push goes to, in order; more than one makes a
    /// rollout, confirmed by typing how many.
    pub devices: Vec<Id>,
    /// The configuration as the device last reported it.
    pub previous: String,
    pub editor: TextArea<'static>,
    pub step: Step,
    pub reason: String,
    /// What the analyst typed to confirm (must equal `name` or the id).
    pub typed: String,
    pub focus: Field,
    pub window_s: u32,
    /// Why the last attempt was refused (shown on the review step).
    pub error: Option<String>,
}

impl std::fmt::Debug for Draft {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Draft")
            .field("device", &self.device)
            .field("step", &self.step)
            .finish_non_exhaustive()
    }
}

/// One line of a unified diff.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DiffLine {
    Hunk(String),
    Same(String),
    Added(String),
    Removed(String),
}

/// The unified diff of `old` → `new` (three lines of context).
pub fn diff(old: &str, new: &str) -> Vec<DiffLine> {
    let d = similar::TextDiff::from_lines(old, new);
    let mut out = Vec::new();
    for group in d.grouped_ops(3) {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        let (o, n) = (first.old_range().start, first.new_range().start);
        let (oe, ne) = (last.old_range().end, last.new_range().end);
        out.push(DiffLine::Hunk(format!(
            "@@ -{},{} +{},{} @@",
            o + 1,
            oe - o,
            n + 1,
            ne - n
        )));
        for op in &group {
            for change in d.iter_changes(op) {
                let text = change.value().trim_end_matches(['\n', '\r']).to_string();
                out.push(match change.tag() {
                    similar::ChangeTag::Equal => DiffLine::Same(text),
                    similar::ChangeTag::Insert => DiffLine::Added(text),
                    similar::ChangeTag::Delete => DiffLine::Removed(text),
                });
            }
        }
    }
    out
}

/// What a key did to the draft.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Nothing,
    /// Close the editor without sending.
    Cancel,
    /// Send the push.
    Send,
}

impl Draft {
    /// A draft for a device, waiting for its configuration.
    pub fn new(tenant: Id, device: Id, name: String, window_s: u32) -> Self {
        Self {
            tenant,
            devices: vec![device.clone()],
            device,
            name,
            previous: String::new(),
            editor: TextArea::default(),
            step: Step::Loading,
            reason: String::new(),
            typed: String::new(),
            focus: Field::Reason,
            window_s,
            error: None,
        }
    }

    /// The configuration arrived (`None`: the device never reported one).
    pub fn loaded(&mut self, config: Option<String>) {
        self.previous = config.unwrap_or_default();
        self.editor = TextArea::new(self.previous.lines().map(String::from).collect());
        self.step = Step::Edit;
    }

    /// The edited configuration, as it will be sent.
    pub fn body(&self) -> String {
        let mut s = self.editor.lines().join("\n");
        if !s.is_empty() {
            s.push('\n');
        }
        s
    }

    /// True when the body differs from what the device runs.
    pub fn changed(&self) -> bool {
        self.body().trim_end() != self.previous.trim_end()
    }

    /// A rollout to several devices, edited from the first one's
    /// configuration.
    pub fn bulk(mut self, devices: Vec<Id>) -> Self {
        if devices.len() > 1 {
            self.devices = devices;
        }
        self
    }

    /// True for a rollout.
    pub fn is_bulk(&self) -> bool {
        self.devices.len() > 1
    }

    /// What must be typed to send: the device's name, or the device count.
    pub fn expected(&self) -> String {
        if self.is_bulk() {
            self.devices.len().to_string()
        } else {
            self.name.clone()
        }
    }

    /// True when everything the review asks for is there.
    pub fn ready(&self) -> bool {
        let t = self.typed.trim();
        let typed_ok = if self.is_bulk() {
            t == self.expected()
        } else {
            t == self.name || t == self.device.as_str()
        };
        !self.reason.trim().is_empty() && typed_ok
    }

    /// Handles a key: `edit` is what the editor's keymap binds it to;
    /// a key an edit does not apply to in this step is typed.
    pub fn key(&mut self, edit: Option<Edit>, k: KeyEvent) -> Outcome {
        match self.step {
            Step::Loading | Step::Sending => {
                if edit == Some(Edit::Cancel) {
                    return Outcome::Cancel;
                }
            }
            Step::Edit => match edit {
                Some(Edit::Cancel) => return Outcome::Cancel,
                Some(Edit::Save) => {
                    if self.changed() {
                        self.step = Step::Review;
                        self.focus = Field::Reason;
                        self.error = None;
                    } else {
                        self.error = Some("nothing changed".into());
                    }
                }
                _ => {
                    self.error = None;
                    self.editor.input(k);
                }
            },
            Step::Review => return self.review_key(edit, k),
        }
        Outcome::Nothing
    }

    /// A key on the review step: the reason, then the typed confirmation.
    fn review_key(&mut self, edit: Option<Edit>, k: KeyEvent) -> Outcome {
        let field = match self.focus {
            Field::Reason => &mut self.reason,
            Field::Confirm => &mut self.typed,
        };
        match edit {
            Some(Edit::Cancel) => self.step = Step::Edit,
            Some(Edit::NextField) => {
                self.focus = match self.focus {
                    Field::Reason => Field::Confirm,
                    Field::Confirm => Field::Reason,
                }
            }
            Some(Edit::Accept) if self.focus == Field::Reason => self.focus = Field::Confirm,
            Some(Edit::Accept) => {
                if self.ready() {
                    self.step = Step::Sending;
                    return Outcome::Send;
                }
                self.error = Some(if self.reason.trim().is_empty() {
                    "a reason is required".into()
                } else {
                    format!("type {} to confirm", self.expected())
                });
            }
            Some(Edit::DeleteBack) => {
                field.pop();
                self.error = None;
            }
            Some(Edit::ClearLine) => field.clear(),
            None => {
                if let KeyCode::Char(c) = k.code
                    && !k.modifiers.contains(KeyModifiers::CONTROL)
                    && field.chars().count() < 200
                {
                    field.push(c);
                    self.error = None;
                }
            }
            Some(_) => {}
        }
        Outcome::Nothing
    }

    /// The worker refused the push: back to the review with its reason.
    pub fn refused(&mut self, why: String) {
        self.step = Step::Review;
        self.error = Some(why);
    }
}

/// The push whose window closes first among the applied ones, preferring
/// the given device's.
pub fn most_urgent<'a>(
    pushes: impl Iterator<Item = &'a Push>,
    device: Option<(&Id, &Id)>,
) -> Option<&'a Push> {
    let applied: Vec<&Push> = pushes
        .filter(|p| matches!(p.state, PushState::Applied { .. }))
        .collect();
    if let Some((t, d)) = device
        && let Some(p) = applied.iter().find(|p| &p.tenant == t && &p.device == d)
    {
        return Some(p);
    }
    applied.into_iter().min_by_key(|p| match p.state {
        PushState::Applied { deadline } => deadline,
        _ => p.created,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A key as the default keymap's editor section binds it.
    fn key(code: KeyCode) -> (Option<Edit>, KeyEvent) {
        let edit = match code {
            KeyCode::Enter => Some(Edit::Accept),
            KeyCode::Esc => Some(Edit::Cancel),
            KeyCode::Tab | KeyCode::Up | KeyCode::Down => Some(Edit::NextField),
            KeyCode::Backspace => Some(Edit::DeleteBack),
            _ => None,
        };
        (edit, KeyEvent::new(code, KeyModifiers::NONE))
    }

    fn ctrl(c: char) -> (Option<Edit>, KeyEvent) {
        let edit = match c {
            's' => Some(Edit::Save),
            'u' => Some(Edit::ClearLine),
            _ => None,
        };
        (edit, KeyEvent::new(KeyCode::Char(c), KeyModifiers::CONTROL))
    }

    impl Draft {
        fn press(&mut self, (edit, k): (Option<Edit>, KeyEvent)) -> Outcome {
            self.key(edit, k)
        }
    }

    fn id(s: &str) -> Id {
        Id::parse(s).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn diff_is_unified_with_context() {
        let old = "a\nb\nc\nd\ne\nf\ng\nh\n";
        let new = "a\nb\nc\nd\nE\nf\ng\nh\ni\n";
        let d = diff(old, new);
        assert_eq!(d[0], DiffLine::Hunk("@@ -2,7 +2,8 @@".into()));
        assert!(d.contains(&DiffLine::Removed("e".into())));
        assert!(d.contains(&DiffLine::Added("E".into())));
        assert!(d.contains(&DiffLine::Added("i".into())));
        assert!(diff(old, old).is_empty());
    }

    #[test]
    fn edit_review_and_typed_confirmation() {
        let mut d = Draft::new(id("acme"), id("rtr-1"), "edge router".into(), 300);
        d.loaded(Some("mtu 1500\n".into()));
        assert_eq!(d.press(ctrl('s')), Outcome::Nothing);
        assert_eq!(d.error.as_deref(), Some("nothing changed"));
        d.press(key(KeyCode::End));
        for c in "0".chars() {
            d.press(key(KeyCode::Char(c)));
        }
        assert_eq!(d.body(), "mtu 15000\n");
        d.press(ctrl('s'));
        assert_eq!(d.step, Step::Review);
        // Enter with no reason moves on; the confirmation must match.
        d.press(key(KeyCode::Enter));
        assert_eq!(d.focus, Field::Confirm);
        assert_eq!(d.press(key(KeyCode::Enter)), Outcome::Nothing);
        assert_eq!(d.error.as_deref(), Some("a reason is required"));
        d.press(key(KeyCode::Tab));
        for c in "jumbo".chars() {
            d.press(key(KeyCode::Char(c)));
        }
        d.press(key(KeyCode::Tab));
        for c in "edge".chars() {
            d.press(key(KeyCode::Char(c)));
        }
        assert_eq!(d.press(key(KeyCode::Enter)), Outcome::Nothing);
        assert_eq!(d.error.as_deref(), Some("type edge router to confirm"));
        for c in " router".chars() {
            d.press(key(KeyCode::Char(c)));
        }
        assert_eq!(d.press(key(KeyCode::Enter)), Outcome::Send);
        assert_eq!(d.step, Step::Sending);
        d.refused("conflict: busy".into());
        assert_eq!(d.step, Step::Review);
        assert_eq!(d.press(key(KeyCode::Esc)), Outcome::Nothing);
        assert_eq!(d.step, Step::Edit);
        assert_eq!(d.press(key(KeyCode::Esc)), Outcome::Cancel);
    }
}
