//! Staff accounts: roles, what each may do, and password hashing (argon2id).

use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A mobile-group employee: registers applicants and forms lists in their region.
    MobileGroup,
    /// Office staff: read-only over their region, may export.
    Office,
    /// Manages users.
    Admin,
}

impl Role {
    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "mobile_group" => Some(Role::MobileGroup),
            "office" => Some(Role::Office),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }
    pub fn code(self) -> &'static str {
        match self {
            Role::MobileGroup => "mobile_group",
            Role::Office => "office",
            Role::Admin => "admin",
        }
    }
    pub fn label_ru(self) -> &'static str {
        match self {
            Role::MobileGroup => "Сотрудник мобильной группы",
            Role::Office => "Сотрудник центра занятости",
            Role::Admin => "Администратор",
        }
    }
    /// May add, edit, refuse and delete applicants and form lists.
    pub fn can_write(self) -> bool {
        matches!(self, Role::MobileGroup)
    }
}

/// A signed-in user, as handlers see it.
#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub login: String,
    pub full_name: String,
    pub iin: String,
    pub role: Role,
    pub region: String,
}

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    // Argon2::default() is argon2id, v19, with the OWASP-recommended memory and passes.
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash of a password nobody has, checked when the login is unknown so that an unknown
/// login takes as long as a wrong password.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password("no such user, no such password").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hashed_password_verifies_and_a_wrong_one_does_not() {
        let h = hash_password("demo").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("demo", &h));
        assert!(!verify_password("Demo", &h));
        assert!(!verify_password("demo", "not a hash"));
    }

    #[test]
    fn only_the_mobile_group_writes() {
        assert!(Role::MobileGroup.can_write());
        assert!(!Role::Office.can_write());
        assert!(!Role::Admin.can_write());
        assert_eq!(Role::parse("office"), Some(Role::Office));
        assert_eq!(Role::parse("root"), None);
    }
}
