//! The showcase's plots (SVG, with plotters): the latency distribution of the four sides, and
//! their resident memory over time — each from the run whose p99 is the median of its side.

use crate::ab::{Comparison, RunReport};
use plotters::prelude::*;
use std::path::{Path, PathBuf};

type PlotResult = Result<(), Box<dyn std::error::Error>>;

const SIZE: (u32, u32) = (800, 480);
/// std on glibc, std on mimalloc, typool on glibc, typool on mimalloc (the order of `SIDES`).
const COLOURS: [RGBColor; 4] = [
    RGBColor(200, 60, 40),
    RGBColor(230, 150, 40),
    RGBColor(30, 100, 200),
    RGBColor(40, 170, 150),
];

/// One run of each side.
type Runs<'a> = [&'a RunReport; 4];

/// Writes `latency_cdf.svg` and `rss_over_time.svg` into `dir`; returns their paths.
pub fn write(c: &Comparison, dir: &Path) -> Result<Vec<PathBuf>, Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let runs: Runs = core::array::from_fn(|i| Comparison::median_run(c.side(i)));
    let cdf = dir.join("latency_cdf.svg");
    latency_cdf(&cdf, runs)?;
    let rss = dir.join("rss_over_time.svg");
    rss_over_time(&rss, runs)?;
    Ok(vec![cdf, rss])
}

/// Latency (log scale) against the share of requests at most that slow, in "nines":
/// 0 = 0%, 1 = 90%, 2 = 99%, 3 = 99.9%, so the tail gets as much room as the body.
fn latency_cdf(path: &Path, runs: Runs) -> PlotResult {
    let nines = |q: f64| -(1.0 - q.min(0.9999)).log10();
    let max_us = runs
        .iter()
        .flat_map(|r| &r.curve)
        .map(|&(_, ns)| ns)
        .max()
        .unwrap_or(1) as f64
        / 1e3;
    let min_us = runs
        .iter()
        .flat_map(|r| &r.curve)
        .map(|&(_, ns)| ns)
        .min()
        .unwrap_or(1)
        .max(1) as f64
        / 1e3;
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Request latency: std vs typool, on glibc and on mimalloc",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d((min_us * 0.8..max_us * 1.25).log_scale(), 0.0..4.0)?;
    chart
        .configure_mesh()
        .x_desc("latency (µs, log scale)")
        .y_desc("share of requests at most this slow")
        .y_labels(5)
        .y_label_formatter(&|n: &f64| match n.round() as i32 {
            _ if (n - n.round()).abs() > 1e-6 => String::new(),
            0 => "0%".into(),
            1 => "90%".into(),
            2 => "99%".into(),
            3 => "99.9%".into(),
            4 => "99.99%".into(),
            _ => String::new(),
        })
        .draw()?;
    let curve = |r: &RunReport| -> Vec<(f64, f64)> {
        r.curve
            .iter()
            .map(|&(q, ns)| (ns as f64 / 1e3, nines(q)))
            .collect()
    };
    draw_sides(
        &mut chart,
        runs.map(|r| (r, curve(r))),
        SeriesLabelPosition::UpperLeft,
    )?;
    root.present()?;
    Ok(())
}

/// Resident memory of each side's process over its run.
fn rss_over_time(path: &Path, runs: Runs) -> PlotResult {
    let mib = |bytes: u64| bytes as f64 / (1 << 20) as f64;
    let series = runs.map(|r| &r.rss_series);
    let max_t = series
        .iter()
        .flat_map(|s| s.iter().map(|p| p.0))
        .fold(1.0, f64::max);
    let max_m = series
        .iter()
        .flat_map(|s| s.iter().map(|p| mib(p.1)))
        .fold(1.0, f64::max);
    let root = SVGBackend::new(path, SIZE).into_drawing_area();
    root.fill(&WHITE)?;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            "Resident memory over a run: std vs typool, on glibc and on mimalloc",
            ("sans-serif", 22),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..max_t, 0.0..max_m * 1.15)?;
    chart
        .configure_mesh()
        .x_desc("time since the first request (ms)")
        .y_desc("resident set (MiB)")
        .draw()?;
    let series = |r: &RunReport| -> Vec<(f64, f64)> {
        r.rss_series
            .iter()
            .map(|&(t, bytes)| (t, mib(bytes)))
            .collect()
    };
    draw_sides(
        &mut chart,
        runs.map(|r| (r, series(r))),
        SeriesLabelPosition::LowerRight,
    )?;
    root.present()?;
    Ok(())
}

/// Draws each side's line (std red and orange, typool blue and teal) and the legend naming
/// them.
fn draw_sides<'a, DB: DrawingBackend + 'a, CT: CoordTranslate<From = (f64, f64)>>(
    chart: &mut ChartContext<'a, DB, CT>,
    sides: [(&RunReport, Vec<(f64, f64)>); 4],
    legend: SeriesLabelPosition,
) -> PlotResult
where
    DB::ErrorType: 'static,
{
    for ((run, points), colour) in sides.into_iter().zip(COLOURS) {
        chart
            .draw_series(LineSeries::new(points, colour.stroke_width(2)))?
            .label(run.side.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .border_style(BLACK)
        .background_style(WHITE)
        .position(legend)
        .draw()?;
    Ok(())
}
