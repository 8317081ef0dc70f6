//! Excel export (rust_xlsxwriter in constant-memory mode): rows are written as they are read
//! from the database in batches, and the finished file is streamed from a temporary file, so a
//! 100 000-row export does not hold its rows in memory.

use anyhow::Context;
use chrono::NaiveDate;
use rust_xlsxwriter::{Color, Format, FormatBorder, Workbook, XlsxError};

use crate::domain::applicant::{fio as _fio, Status};
use crate::domain::iin::Gender;
use crate::domain::kato::Dictionaries;
use crate::i18n;
use crate::store::applicants::ApplicantRow;

pub const COLUMNS: &[(&str, f64)] = &[
    ("№", 7.0),
    ("ИИН", 15.0),
    ("Фамилия", 20.0),
    ("Имя", 16.0),
    ("Отчество", 20.0),
    ("Дата рождения", 14.0),
    ("Пол", 10.0),
    ("Город/район проживания", 32.0),
    ("Название улицы", 24.0),
    ("Номер дома", 11.0),
    ("Номер квартиры", 11.0),
    ("Категория претендента", 40.0),
    ("Категория занятости", 36.0),
    ("Статус", 30.0),
    ("Причина отказа в АИС \"Рынок труда\"", 36.0),
    ("Причина отказа мобильной группы", 36.0),
];

/// The zip's deflate level. Deflating the finished sheet is the one step of an export that
/// nothing runs beside; level 3 instead of the default 6 halves it for an 11 % larger file (the
/// 100 000-row export at 1M: 0.32 s and 8.9 MB against 0.63–0.70 s and 8.0 MB; level 1: 0.17 s,
/// 12.8 MB).
const ZIP_LEVEL: u8 = 3;

pub struct XlsxExport {
    workbook: Workbook,
    row: u32,
    header_row: u32,
    header: Format,
    date: Format,
    title: Format,
    n: u32,
    lang: &'static str,
}

fn xe(e: XlsxError) -> anyhow::Error {
    anyhow::anyhow!("writing the Excel file: {e}")
}

impl XlsxExport {
    /// A workbook with title lines above a styled, frozen header row.
    pub fn new(
        sheet_name: &str,
        title_lines: &[String],
        lang: &'static str,
    ) -> anyhow::Result<Self> {
        let mut workbook = Workbook::new();
        workbook.set_tempdir(std::env::temp_dir()).map_err(xe)?;
        workbook.set_zip_compression_level(ZIP_LEVEL);
        let header = Format::new()
            .set_bold()
            .set_background_color(Color::RGB(0xDCE6F1))
            .set_border(FormatBorder::Thin)
            .set_text_wrap();
        let date = Format::new().set_num_format("dd.mm.yyyy");
        let title = Format::new().set_bold();
        {
            let ws = workbook.add_worksheet_with_constant_memory().map_err(xe)?;
            ws.set_name(sheet_name).map_err(xe)?;
        }
        let mut me = XlsxExport {
            workbook,
            row: 0,
            header_row: 0,
            header,
            date,
            title,
            n: 0,
            lang,
        };
        me.title_and_header(title_lines)?;
        Ok(me)
    }

    fn title_and_header(&mut self, title_lines: &[String]) -> anyhow::Result<()> {
        let lang = self.lang;
        let ws = self.workbook.worksheet_from_index(0).map_err(xe)?;
        for (i, (_, w)) in COLUMNS.iter().enumerate() {
            ws.set_column_width(i as u16, *w).map_err(xe)?;
        }
        let mut row = 0u32;
        for line in title_lines {
            ws.write_string_with_format(row, 0, line, &self.title)
                .map_err(xe)?;
            row += 1;
        }
        row += 1;
        for (i, (name, _)) in COLUMNS.iter().enumerate() {
            ws.write_string_with_format(row, i as u16, i18n::t(lang, name), &self.header)
                .map_err(xe)?;
        }
        ws.set_freeze_panes(row + 1, 0).map_err(xe)?;
        self.header_row = row;
        self.row = row + 1;
        Ok(())
    }

    /// Appends applicants. Every text cell is written as a string, never a formula, so a name
    /// such as "=HYPERLINK(...)" stays text; IINs keep their leading zeros.
    pub fn write_rows(&mut self, rows: &[ApplicantRow], dict: &Dictionaries) -> anyhow::Result<()> {
        let lang = self.lang;
        let ws = self.workbook.worksheet_from_index(0).map_err(xe)?;
        for r in rows {
            self.n += 1;
            let row = self.row;
            let text = |v: &str| v.to_string();
            ws.write_number(row, 0, f64::from(self.n)).map_err(xe)?;
            ws.write_string(row, 1, text(&r.iin)).map_err(xe)?;
            ws.write_string(row, 2, text(&r.last_name)).map_err(xe)?;
            ws.write_string(row, 3, text(&r.first_name)).map_err(xe)?;
            ws.write_string(row, 4, text(&r.middle_name)).map_err(xe)?;
            match NaiveDate::parse_from_str(&r.birth_date, "%Y-%m-%d") {
                Ok(d) => ws
                    .write_datetime_with_format(row, 5, d, &self.date)
                    .map_err(xe)?,
                Err(_) => ws.write_string(row, 5, text(&r.birth_date)).map_err(xe)?,
            };
            let gender = Gender::parse(&r.gender)
                .map(|g| i18n::t(lang, g.label_ru()))
                .unwrap_or_default();
            ws.write_string(row, 6, gender).map_err(xe)?;
            ws.write_string(row, 7, dict.full_name(&r.kato, lang))
                .map_err(xe)?;
            ws.write_string(row, 8, text(&r.street)).map_err(xe)?;
            ws.write_string(row, 9, text(&r.house)).map_err(xe)?;
            ws.write_string(row, 10, text(&r.flat)).map_err(xe)?;
            let cat = |kind: &str, code: &str| {
                dict.category(kind, code)
                    .map(|c| c.name(lang).to_string())
                    .unwrap_or_default()
            };
            ws.write_string(row, 11, cat("applicant", &r.applicant_category))
                .map_err(xe)?;
            ws.write_string(row, 12, cat("employment", &r.employment_category))
                .map_err(xe)?;
            ws.write_string(row, 13, i18n::t(lang, Status::parse(&r.status).label_ru()))
                .map_err(xe)?;
            ws.write_string(row, 14, text(&r.ais_reason)).map_err(xe)?;
            ws.write_string(row, 15, text(&r.mg_reason)).map_err(xe)?;
            self.row += 1;
        }
        Ok(())
    }

    pub fn rows_written(&self) -> u32 {
        self.n
    }

    /// Finishes the file into a temporary file (CPU work: call from a blocking task).
    pub fn finish(mut self) -> anyhow::Result<tempfile_path::TempPath> {
        if self.n > 0 {
            let last = self.row - 1;
            let ws = self.workbook.worksheet_from_index(0).map_err(xe)?;
            ws.autofilter(self.header_row, 0, last, (COLUMNS.len() - 1) as u16)
                .map_err(xe)?;
        }
        let path = tempfile_path::TempPath::new()?;
        self.workbook
            .save(path.path())
            .map_err(xe)
            .context("saving the Excel file")?;
        Ok(path)
    }
}

/// A named temporary file removed when dropped.
pub mod tempfile_path {
    use std::path::{Path, PathBuf};

    pub struct TempPath(PathBuf);

    impl TempPath {
        pub fn new() -> anyhow::Result<TempPath> {
            let name = format!("talapker-export-{}.xlsx", uuid::Uuid::new_v4().simple());
            Ok(TempPath(std::env::temp_dir().join(name)))
        }
        pub fn path(&self) -> &Path {
            &self.0
        }
    }

    impl Drop for TempPath {
        fn drop(&mut self) {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}

/// Content-Disposition for a download: an ASCII fallback and the UTF-8 name.
pub fn content_disposition(ascii: &str, utf8: &str) -> String {
    let enc: String = utf8
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{enc}")
}

pub fn fio(r: &ApplicantRow) -> String {
    _fio(&r.last_name, &r.first_name, &r.middle_name)
}
