//! Lists of applicants: their statuses (manual §6–9) and what each allows.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStatus {
    /// «не отправлен»
    Draft,
    /// «отправлен в АИС «Рынок труда»»
    Sent,
    /// «получен из АИС «Рынок труда»»
    Received,
}

impl ListStatus {
    pub fn parse(s: &str) -> ListStatus {
        match s {
            "sent" => ListStatus::Sent,
            "received" => ListStatus::Received,
            _ => ListStatus::Draft,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            ListStatus::Draft => "draft",
            ListStatus::Sent => "sent",
            ListStatus::Received => "received",
        }
    }
    pub fn label_ru(self) -> &'static str {
        match self {
            ListStatus::Draft => "не отправлен",
            ListStatus::Sent => "отправлен в АИС «Рынок труда»",
            ListStatus::Received => "получен из АИС «Рынок труда»",
        }
    }
    /// «Изменить название» and «Удалить» only while the list was never sent (§7, §8).
    pub fn editable(self) -> bool {
        self == ListStatus::Draft
    }
}

pub const NOTE_MAX: usize = 200;

/// The note («Текст примечания»): trimmed, bounded, no control characters.
pub fn parse_note(s: &str) -> Result<String, &'static str> {
    let v = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if v.chars().count() > NOTE_MAX {
        return Err("Текст примечания не может быть длиннее 200 символов");
    }
    if v.chars().any(char::is_control) {
        return Err("Текст примечания содержит недопустимые символы");
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_unsent_list_may_be_renamed_or_deleted() {
        assert!(ListStatus::Draft.editable());
        assert!(!ListStatus::Sent.editable());
        assert!(!ListStatus::Received.editable());
    }

    #[test]
    fn a_note_is_trimmed_and_bounded() {
        assert_eq!(parse_note("  Пример_1-1 ").unwrap(), "Пример_1-1");
        assert!(parse_note(&"я".repeat(201)).is_err());
        assert_eq!(parse_note("").unwrap(), "");
    }

    #[test]
    fn statuses_read_as_in_the_manual() {
        assert_eq!(
            ListStatus::parse("sent").label_ru(),
            "отправлен в АИС «Рынок труда»"
        );
        assert_eq!(ListStatus::parse("whatever"), ListStatus::Draft);
    }
}
