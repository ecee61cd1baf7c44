//! The bulletin's figures as SVG, drawn from the same data as the numbers:
//! a daily trend chart and a map of the period (no tiles, no internet).

use std::fmt::Write;

use serde_json::Value;

use crate::sections::{Chart, MapFigure};

pub(crate) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A bar chart of a daily series.
pub(crate) fn chart(c: &Chart) -> String {
    let (w, h, pad) = (640.0, 180.0, 28.0);
    let max = c.points.iter().map(|p| p.1).fold(0.0f64, f64::max).max(1.0);
    let n = c.points.len().max(1) as f64;
    let bw = (w - 2.0 * pad) / n;
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{}"><rect width="{w}" height="{h}" fill="#fff"/>"##,
        esc(&c.title)
    );
    let colour = esc(c.colour.as_deref().unwrap_or("#b3261e"));
    // Days with nothing draw no bar (a zero-height rect is invalid SVG).
    for (i, (day, v)) in c.points.iter().enumerate().filter(|(_, (_, v))| *v > 0.0) {
        let bh = (h - 2.0 * pad) * v / max;
        let x = pad + i as f64 * bw;
        let _ = write!(
            s,
            r##"<rect x="{x:.1}" y="{:.1}" width="{:.1}" height="{bh:.1}" fill="{colour}"><title>{} {v}</title></rect>"##,
            h - pad - bh,
            (bw - 1.0).max(1.0),
            esc(day)
        );
    }
    let _ = write!(
        s,
        r##"<line x1="{pad}" y1="{0}" x2="{1}" y2="{0}" stroke="#333"/>"##,
        h - pad,
        w - pad
    );
    if let (Some(first), Some(last)) = (c.points.first(), c.points.last()) {
        let _ = write!(
            s,
            r##"<text x="{pad}" y="{}" font-size="11" font-family="sans-serif">{}</text><text x="{}" y="{}" font-size="11" font-family="sans-serif" text-anchor="end">{}</text>"##,
            h - 8.0,
            esc(&first.0),
            w - pad,
            h - 8.0,
            esc(&last.0)
        );
    }
    let _ = write!(
        s,
        r##"<text x="{pad}" y="16" font-size="11" font-family="sans-serif">max {}</text></svg>"##,
        crate::render::fmt_value(max)
    );
    s
}

fn rings(g: &Value) -> Vec<Vec<(f64, f64)>> {
    let pts = |r: &Value| -> Vec<(f64, f64)> {
        r.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|p| Some((p.get(0)?.as_f64()?, p.get(1)?.as_f64()?)))
                    .collect()
            })
            .unwrap_or_default()
    };
    match g["type"].as_str() {
        Some("Polygon") => g["coordinates"]
            .as_array()
            .map(|rs| rs.iter().map(pts).collect())
            .unwrap_or_default(),
        Some("MultiPolygon") => g["coordinates"]
            .as_array()
            .map(|ps| {
                ps.iter()
                    .flat_map(|p| p.as_array().cloned().unwrap_or_default())
                    .map(|r| pts(&r))
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

/// A map: outlines and points in an equirectangular projection scaled by
/// the cosine of the middle latitude.
pub(crate) fn map(m: &MapFigure) -> String {
    let mut xs: Vec<f64> = Vec::new();
    let mut ys: Vec<f64> = Vec::new();
    for (_, g, _) in &m.areas {
        for r in rings(g) {
            for (x, y) in r {
                xs.push(x);
                ys.push(y);
            }
        }
    }
    for (x, y, _) in &m.points {
        xs.push(*x);
        ys.push(*y);
    }
    let (Some(x0), Some(x1)) = (
        xs.iter().copied().reduce(f64::min),
        xs.iter().copied().reduce(f64::max),
    ) else {
        return String::new();
    };
    let y0 = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let y1 = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let k = ((y0 + y1) / 2.0).to_radians().cos();
    let (dx, dy) = (((x1 - x0) * k).max(1e-6), (y1 - y0).max(1e-6));
    let w = 640.0;
    let h = (w * dy / dx).clamp(200.0, 900.0);
    let sx = |x: f64| 10.0 + (x - x0) * k / dx * (w - 20.0);
    let sy = |y: f64| 10.0 + (y1 - y) / dy * (h - 20.0);
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {w} {h:.0}" width="{w}" height="{h:.0}" role="img" aria-label="Map of the period"><rect width="{w}" height="{h:.0}" fill="#eef2f3"/>"##
    );
    for (label, g, class) in &m.areas {
        let colour = if class == "aor" { "#1f5fbf" } else { "#8a4b00" };
        let mut d = String::new();
        for r in rings(g) {
            for (i, (x, y)) in r.iter().enumerate() {
                let _ = write!(
                    d,
                    "{}{:.1},{:.1}",
                    if i == 0 { "M" } else { "L" },
                    sx(*x),
                    sy(*y)
                );
            }
            d.push('Z');
        }
        let _ = write!(
            s,
            r##"<path d="{d}" fill="{colour}" fill-opacity="0.06" stroke="{colour}" stroke-width="1.2"><title>{}</title></path>"##,
            esc(label)
        );
    }
    for (x, y, class) in &m.points {
        let colour = if class == "violation" {
            "#b3261e"
        } else {
            "#333"
        };
        let _ = write!(
            s,
            r##"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{colour}" stroke="#fff" stroke-width="0.8"/>"##,
            sx(*x),
            sy(*y)
        );
    }
    s.push_str("</svg>");
    s
}
