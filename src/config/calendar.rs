//! The calendar of a workspace: maintenance windows and freeze periods, as written in vow.yaml
//! and compiled once at load, and the earliest time a wave of some instances may start.
//!
//! A wave must start inside every maintenance window that applies to one of its instances (a
//! window without a selector applies to all), and outside every freeze period that applies to
//! one of them. Windows are weekly (days and hours in an IANA time zone); freezes are absolute.

use crate::model::{Labels, Selector};
use chrono::{DateTime, Datelike, Duration, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A maintenance window as written in vow.yaml.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WindowSpec {
    /// The window's name, shown with the waves it holds back.
    pub name: String,
    /// The instances the window applies to (none: every instance).
    #[serde(default)]
    pub selector: Option<Selector>,
    /// `Mon`..`Sun` (or full names); default every day.
    #[serde(default)]
    pub days: Vec<String>,
    /// `HH:MM-HH:MM` in the window's time zone; an end before the start runs past midnight.
    pub hours: String,
    /// An IANA time zone, like `Europe/Dublin` (default `UTC`).
    #[serde(default = "utc_name")]
    pub time_zone: String,
}

fn utc_name() -> String {
    "UTC".into()
}

/// A freeze period as written in vow.yaml: no wave of matching instances starts inside it.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FreezeSpec {
    /// The freeze's name, shown with the waves it holds back.
    pub name: String,
    /// The instances the freeze applies to (none: every instance).
    #[serde(default)]
    pub selector: Option<Selector>,
    /// RFC 3339 or a date (midnight UTC).
    pub from: String,
    /// Exclusive; RFC 3339 or a date.
    pub to: String,
    /// Why nothing may start (shown in plans).
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Clone, Debug)]
pub struct Window {
    pub name: String,
    pub selector: Option<Selector>,
    days: [bool; 7],
    start: NaiveTime,
    end: NaiveTime,
    tz: Tz,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct Freeze {
    pub name: String,
    pub selector: Option<Selector>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

/// The windows and freezes of a workspace.
#[derive(Clone, Debug, Default)]
pub struct Calendar {
    pub windows: Vec<Window>,
    pub freezes: Vec<Freeze>,
}

fn weekday(s: &str) -> Option<Weekday> {
    Some(match s.trim().to_ascii_lowercase().get(..3)? {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        "sun" => Weekday::Sun,
        _ => return None,
    })
}

fn clock(s: &str) -> Option<NaiveTime> {
    let s = s.trim();
    if s == "24:00" {
        return NaiveTime::from_hms_opt(23, 59, 59);
    }
    NaiveTime::parse_from_str(s, "%H:%M").ok()
}

impl Window {
    pub fn compile(spec: &WindowSpec) -> Result<Window, String> {
        let name = &spec.name;
        let tz: Tz = spec.time_zone.parse().map_err(|_| {
            format!(
                "window {name}: timeZone `{}` is not an IANA time zone (Europe/Dublin, UTC)",
                spec.time_zone
            )
        })?;
        let mut days = [spec.days.is_empty(); 7];
        for d in &spec.days {
            let w = weekday(d)
                .ok_or_else(|| format!("window {name}: `{d}` is not a day (Mon..Sun)"))?;
            if let Some(day) = days.get_mut(w.num_days_from_monday() as usize) {
                *day = true;
            }
        }
        let (a, b) = spec.hours.split_once('-').ok_or_else(|| {
            format!(
                "window {name}: hours `{}` must look like 09:00-17:00",
                spec.hours
            )
        })?;
        let (start, end) = match (clock(a), clock(b)) {
            (Some(s), Some(e)) if s != e => (s, e),
            _ => {
                return Err(format!(
                    "window {name}: hours `{}` must look like 09:00-17:00",
                    spec.hours
                ))
            }
        };
        Ok(Window {
            name: name.clone(),
            selector: spec.selector.clone(),
            days,
            start,
            end,
            tz,
            text: format!(
                "{} {} {}",
                if spec.days.is_empty() {
                    "daily".into()
                } else {
                    spec.days.join(",")
                },
                spec.hours,
                spec.time_zone
            ),
        })
    }

    fn day_open(&self, d: Weekday) -> bool {
        self.days
            .get(d.num_days_from_monday() as usize)
            .copied()
            .unwrap_or(false)
    }

    /// Whether the window is open at `t`.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        let local = t.with_timezone(&self.tz);
        let time = local.time();
        if self.start < self.end {
            self.day_open(local.weekday()) && time >= self.start && time < self.end
        } else {
            // Past midnight: open from `start` on an open day until `end` the next morning.
            (self.day_open(local.weekday()) && time >= self.start)
                || (self.day_open(local.weekday().pred()) && time < self.end)
        }
    }

    /// The next time at or after `t` the window opens (or `t` when it is open).
    pub fn next_open(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.contains(t) {
            return Some(t);
        }
        let local = t.with_timezone(&self.tz).date_naive();
        (0..=8)
            .filter_map(|d| local.checked_add_signed(Duration::days(d)))
            .filter(|date| self.day_open(date.weekday()))
            .filter_map(|date| {
                self.tz
                    .from_local_datetime(&date.and_time(self.start))
                    .earliest()
            })
            .map(|dt| dt.with_timezone(&Utc))
            .find(|dt| *dt >= t)
    }
}

impl Freeze {
    pub fn compile(spec: &FreezeSpec) -> Result<Freeze, String> {
        let t = |s: &str| {
            crate::duration::parse_time(s).map_err(|e| format!("freeze {}: {e}", spec.name))
        };
        let (from, to) = (t(&spec.from)?, t(&spec.to)?);
        if to <= from {
            return Err(format!("freeze {}: `to` must be after `from`", spec.name));
        }
        Ok(Freeze {
            name: spec.name.clone(),
            selector: spec.selector.clone(),
            from,
            to,
        })
    }
}

fn applies(selector: &Option<Selector>, labels: &[&Labels]) -> bool {
    match selector {
        None => true,
        Some(s) => labels.iter().any(|l| s.matches(l)),
    }
}

impl Calendar {
    /// Compiles the windows and freezes; the first that does not compile is the error.
    pub fn compile(windows: &[WindowSpec], freezes: &[FreezeSpec]) -> Result<Calendar, String> {
        Calendar::compile_at(windows, freezes).map_err(|(_, e)| e)
    }

    /// Like [`Calendar::compile`], with the field of vow.yaml that does not compile
    /// (`windows[1]`, `freezes[0]`), for its line.
    pub fn compile_at(
        windows: &[WindowSpec],
        freezes: &[FreezeSpec],
    ) -> Result<Calendar, (String, String)> {
        let mut calendar = Calendar::default();
        for (i, w) in windows.iter().enumerate() {
            calendar
                .windows
                .push(Window::compile(w).map_err(|e| (format!("windows[{i}]"), e))?);
        }
        for (i, f) in freezes.iter().enumerate() {
            calendar
                .freezes
                .push(Freeze::compile(f).map_err(|e| (format!("freezes[{i}]"), e))?);
        }
        Ok(calendar)
    }

    /// The earliest time at or after `t` a wave of instances with these labels may start, and
    /// why it waits (empty when it need not).
    pub fn earliest(
        &self,
        mut t: DateTime<Utc>,
        labels: &[&Labels],
    ) -> (DateTime<Utc>, Vec<String>) {
        let mut why: Vec<String> = Vec::new();
        let windows: Vec<&Window> = self
            .windows
            .iter()
            .filter(|w| applies(&w.selector, labels))
            .collect();
        let freezes: Vec<&Freeze> = self
            .freezes
            .iter()
            .filter(|f| applies(&f.selector, labels))
            .collect();
        // Each step moves t forward; windows repeat weekly, so a bounded number of steps settles
        // unless the windows never overlap (then the wave cannot be placed and says so).
        for _ in 0..1000 {
            let mut moved = false;
            for f in &freezes {
                if f.from <= t && t < f.to {
                    t = f.to;
                    moved = true;
                    note(
                        &mut why,
                        format!(
                            "freeze {} until {}",
                            f.name,
                            crate::duration::format_time(f.to)
                        ),
                    );
                }
            }
            for w in &windows {
                match w.next_open(t) {
                    Some(n) if n != t => {
                        t = n;
                        moved = true;
                        note(&mut why, format!("window {} ({})", w.name, w.text));
                    }
                    Some(_) => {}
                    None => {
                        note(&mut why, format!("window {} never opens", w.name));
                        return (t, why);
                    }
                }
            }
            if !moved {
                return (t, why);
            }
        }
        note(&mut why, "the windows that apply never overlap".into());
        (t, why)
    }
}

fn note(why: &mut Vec<String>, s: String) {
    if !why.contains(&s) {
        why.push(s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        crate::duration::parse_time(s).unwrap()
    }

    fn window(days: &[&str], hours: &str, tz: &str) -> Window {
        Window::compile(&WindowSpec {
            name: "w".into(),
            selector: None,
            days: days.iter().map(|d| d.to_string()).collect(),
            hours: hours.into(),
            time_zone: tz.into(),
        })
        .unwrap()
    }

    #[test]
    fn windows_open_on_their_days_and_hours_in_their_zone() {
        // 2026-12-01 is a Tuesday; Dublin is UTC+0 in winter, New York UTC-5.
        let w = window(&["Tue", "Wed"], "09:00-17:00", "America/New_York");
        assert!(!w.contains(t("2026-12-01T13:00:00Z")));
        assert!(w.contains(t("2026-12-01T14:00:00Z")));
        assert_eq!(
            w.next_open(t("2026-12-01T23:00:00Z")),
            Some(t("2026-12-02T14:00:00Z"))
        );
        assert_eq!(
            w.next_open(t("2026-12-03T15:00:00Z")),
            Some(t("2026-12-08T14:00:00Z"))
        );
    }

    #[test]
    fn overnight_windows() {
        let w = window(&["Sat"], "22:00-04:00", "UTC");
        assert!(w.contains(t("2026-12-05T23:00:00Z")));
        assert!(w.contains(t("2026-12-06T03:00:00Z")));
        assert!(!w.contains(t("2026-12-06T05:00:00Z")));
    }

    #[test]
    fn freezes_push_past_their_end_then_windows_apply() {
        let cal = Calendar::compile(
            &[WindowSpec {
                name: "weekdays".into(),
                selector: None,
                days: vec![
                    "Mon".into(),
                    "Tue".into(),
                    "Wed".into(),
                    "Thu".into(),
                    "Fri".into(),
                ],
                hours: "09:00-17:00".into(),
                time_zone: "UTC".into(),
            }],
            &[FreezeSpec {
                name: "year-end".into(),
                selector: None,
                from: "2026-12-20".into(),
                to: "2027-01-04".into(),
                reason: None,
            }],
        )
        .unwrap();
        let (at, why) = cal.earliest(t("2026-12-22T10:00:00Z"), &[]);
        assert_eq!(at, t("2027-01-04T09:00:00Z"));
        assert_eq!(why.len(), 2, "{why:?}");
    }

    #[test]
    fn bad_specs_are_errors() {
        let bad = |hours: &str, tz: &str, day: &str| {
            Window::compile(&WindowSpec {
                name: "w".into(),
                selector: None,
                days: vec![day.into()],
                hours: hours.into(),
                time_zone: tz.into(),
            })
            .is_err()
        };
        assert!(bad("9-17", "UTC", "Mon"));
        assert!(bad("09:00-17:00", "Mars/Olympus", "Mon"));
        assert!(bad("09:00-17:00", "UTC", "Someday"));
        assert!(!bad("09:00-17:00", "Europe/Dublin", "monday"));
    }
}
