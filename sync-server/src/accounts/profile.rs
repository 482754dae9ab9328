//! A person's profile: name, company, phone, country and currency, what
//! the programme needs to know of them (`wire::Profile`; the app's
//! first-run checklist ticks "profile" once all are there).
//!
//! | method and path                              | who            |
//! |----------------------------------------------|----------------|
//! | `GET /api/me/profile`                        | signed in      |
//! | `PUT /api/me/profile`                        | signed in      |

use axum::{Json, extract::State};
use wire::Profile;

use crate::{
    accounts::api::AccountsState,
    http::error::AppError,
    http::extract::{ApiJson, Lines, plain_text},
    http::session::Authenticated,
};

pub(super) async fn profile(
    State(state): State<AccountsState>,
    who: Authenticated,
) -> Result<Json<Profile>, AppError> {
    Ok(Json(read(&state, &who.account_id).await?))
}

pub(super) async fn set_profile(
    State(state): State<AccountsState>,
    who: Authenticated,
    ApiJson(profile): ApiJson<Profile>,
) -> Result<Json<Profile>, AppError> {
    let checked = check(&profile).map_err(AppError::BadRequest)?;
    sqlx::query(
        "UPDATE accounts SET name = $2, company = $3, phone = $4, country = $5, currency = $6
         WHERE id = $1",
    )
    .bind(&who.account_id)
    .bind(&checked.name)
    .bind(&checked.company)
    .bind(&checked.phone)
    .bind(&checked.country)
    .bind(&checked.currency)
    .execute(&state.pool)
    .await?;
    // A partner's name and company are theirs on the partner row too
    // (statements, the back-office).
    sqlx::query(
        "UPDATE partners p SET name = $2, company = $3 FROM accounts a
         WHERE a.id = $1 AND p.id = a.partner_id",
    )
    .bind(&who.account_id)
    .bind(&checked.name)
    .bind(&checked.company)
    .execute(&state.pool)
    .await?;
    Ok(Json(read(&state, &who.account_id).await?))
}

async fn read(state: &AccountsState, account: &str) -> Result<Profile, AppError> {
    let (name, company, phone, country, currency): (
        String,
        String,
        String,
        Option<String>,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT name, company, phone, country, currency FROM accounts WHERE id = $1",
    )
    .bind(account)
    .fetch_one(&state.pool)
    .await?;
    Ok(Profile {
        name,
        company,
        phone,
        country,
        currency,
    })
}

/// A profile as stored: trimmed, each field checked, with a message that
/// names the field for what is wrong.
fn check(profile: &Profile) -> Result<Profile, String> {
    let name = profile.name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err("name must be 1 to 200 characters long".to_owned());
    }
    plain_text(name, "a profile", "name", Lines::One).map_err(|e| e.to_string())?;
    let company = profile.company.trim();
    if company.chars().count() > 200 {
        return Err("company must be at most 200 characters long".to_owned());
    }
    plain_text(company, "a profile", "company", Lines::One).map_err(|e| e.to_string())?;
    let phone = profile.phone.trim();
    let digits = phone.chars().filter(char::is_ascii_digit).count();
    if !phone.is_empty()
        && (!phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +-().".contains(c))
            || !(6..=20).contains(&digits)
            || phone.len() > 32)
    {
        return Err(
            "phone must be 6 to 20 digits, with spaces, + - ( ) or . if you like".to_owned(),
        );
    }
    let country = match profile.country.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) if code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()) => {
            Some(code.to_owned())
        }
        Some(_) => return Err("country must be a two-letter ISO 3166 code, like BR".to_owned()),
    };
    let currency = match profile.currency.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(code) => Some(
            model::Currency::parse(code)
                .map_err(|_| "currency must be an ISO 4217 code, like BRL".to_owned())?
                .as_str()
                .to_owned(),
        ),
    };
    Ok(Profile {
        name: name.to_owned(),
        company: company.to_owned(),
        phone: phone.to_owned(),
        country,
        currency,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(phone: &str, country: Option<&str>, currency: Option<&str>) -> Profile {
        Profile {
            name: " Eli Moss ".to_owned(),
            company: "Moss Ltd".to_owned(),
            phone: phone.to_owned(),
            country: country.map(str::to_owned),
            currency: currency.map(str::to_owned),
        }
    }

    #[test]
    fn a_profile_is_trimmed_and_checked_field_by_field() {
        let ok = check(&profile("+55 (11) 5555-0100", Some("BR"), Some("BRL"))).unwrap();
        assert_eq!(ok.name, "Eli Moss");
        assert_eq!(ok.country.as_deref(), Some("BR"));
        assert!(
            check(&profile("", None, None)).is_ok(),
            "all may be left for later"
        );
        for (wrong, field) in [
            (profile("12345", None, None), "phone"),
            (profile("+55 11 5555 0100 ext 3", None, None), "phone"),
            (profile(&"1".repeat(21), None, None), "phone"),
            (profile("", Some("Brazil"), None), "country"),
            (profile("", Some("br"), None), "country"),
            (profile("", None, Some("XXX")), "currency"),
        ] {
            let why = check(&wrong).unwrap_err();
            assert!(why.starts_with(field), "{why}");
        }
        let mut nameless = profile("", None, None);
        nameless.name = "  ".to_owned();
        assert!(check(&nameless).unwrap_err().starts_with("name"));
        let mut control = profile("", None, None);
        control.company = "Moss\u{7}Ltd".to_owned();
        assert!(check(&control).is_err());
    }
}
