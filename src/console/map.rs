//! The map view's state: the sites and access points the worker sent,
//! the camera, and the keys that move it. Pure, like `update`.

use chrono::{DateTime, Utc};

use super::geo::Viewport;
use super::lists::matches;
use crate::domain::site::{ApLinks, SiteSummary};

/// Where the map looks when the analyst has moved it; `None` in
/// [`MapState::camera`] fits the sites in view.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    pub lon: f64,
    pub lat: f64,
    pub span: f64,
}

/// What the map holds.
#[derive(Debug, Default)]
pub struct MapState {
    /// Sites in scope, by tenant then name.
    pub sites: Vec<SiteSummary>,
    /// Access points with their links by state.
    pub aps: Vec<ApLinks>,
    /// True once the worker answered.
    pub loaded: bool,
    pub camera: Option<Camera>,
    /// When the map was last asked for.
    pub asked: Option<DateTime<Utc>>,
}

/// How often the map's links are asked for again while it is on screen
/// (site markers follow the live fleet at once).
pub const REFRESH_S: i64 = 15;

impl MapState {
    /// Takes the worker's answer.
    pub fn load(&mut self, mut sites: Vec<SiteSummary>, aps: Vec<ApLinks>) {
        sites.sort_by(|a, b| a.tenant.cmp(&b.tenant).then(a.name.cmp(&b.name)));
        self.sites = sites;
        self.aps = aps;
        self.loaded = true;
    }

    /// True when the map should be asked for (again).
    pub fn due(&self, now: DateTime<Utc>) -> bool {
        self.asked
            .is_none_or(|t| (now - t).num_seconds() >= REFRESH_S)
    }

    /// Sites matching `filter` (name, tenant, region), in list order.
    pub fn shown<'a>(&'a self, filter: &'a str) -> impl Iterator<Item = &'a SiteSummary> + 'a {
        self.sites.iter().filter(move |s| {
            matches(
                filter,
                &[s.name.as_str(), s.tenant.as_str(), s.region.as_str()],
            )
        })
    }

    /// The viewport for a raster of `dots`: the camera, else the fit of
    /// the sites shown.
    pub fn viewport(&self, filter: &str, dots: (u16, u16)) -> Viewport {
        match self.camera {
            Some(c) => Viewport {
                lon: c.lon,
                lat: c.lat,
                span: c.span,
                dots,
            },
            None => Viewport::fit(self.shown(filter).map(|s| (s.lon, s.lat)), dots),
        }
    }

    /// Zooms (`factor` < 1 is in), pans (fractions of the view), or fits
    /// again (`None`), from the view as it is on a raster of `dots`.
    pub fn move_camera(&mut self, filter: &str, dots: (u16, u16), how: Option<(f64, f64, f64)>) {
        let Some((zoom, right, up)) = how else {
            self.camera = None;
            return;
        };
        let mut v = self.viewport(filter, dots);
        v.zoom(zoom);
        v.pan(right, up);
        self.camera = Some(Camera {
            lon: v.lon,
            lat: v.lat,
            span: v.span,
        });
    }

    /// Centres a moved camera on the selected site, so that walking the
    /// sites keeps the selection in sight.
    pub fn follow(&mut self, filter: &str, selected: usize) {
        let Some(site) = self.shown(filter).nth(selected) else {
            return;
        };
        let (lon, lat) = (site.lon, site.lat);
        if let Some(c) = self.camera.as_mut() {
            c.lon = lon;
            c.lat = lat;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::fleet::StatusCounts;
    use crate::domain::{Id, SafeText};

    fn site(tenant: &str, name: &str, lon: f64, lat: f64) -> SiteSummary {
        SiteSummary {
            tenant: Id::parse(tenant).unwrap_or_else(|e| panic!("{e}")),
            id: Id::parse(name).unwrap_or_else(|e| panic!("{e}")),
            name: SafeText::new(name),
            region: SafeText::new("CO"),
            lat,
            lon,
            counts: StatusCounts::default(),
        }
    }

    #[test]
    fn the_camera_fits_zooms_pans_follows_and_fits_again() {
        let mut m = MapState::default();
        m.load(
            vec![
                site("b", "lyons", -105.27, 40.22),
                site("a", "boulder", -105.27, 40.01),
            ],
            Vec::new(),
        );
        assert_eq!(m.shown("").next().map(|s| s.name.as_str()), Some("boulder"));
        let fit = m.viewport("", (200, 100));
        m.move_camera("", (200, 100), Some((0.5, 0.0, 0.0)));
        let zoomed = m.viewport("", (200, 100));
        assert!((zoomed.span - fit.span / 2.0).abs() < 1e-9);
        m.move_camera("", (200, 100), Some((1.0, 0.25, 0.0)));
        assert!(m.viewport("", (200, 100)).lon > zoomed.lon);
        m.follow("", 1);
        let c = m.camera.unwrap_or_else(|| panic!("a camera"));
        assert!((c.lat - 40.22).abs() < 1e-9);
        m.move_camera("", (200, 100), None);
        assert_eq!(m.viewport("", (200, 100)), fit);
        // The filter narrows the fit.
        assert_eq!(m.shown("lyons").count(), 1);
    }

    #[test]
    fn asked_again_every_refresh_period() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let mut m = MapState::default();
        assert!(m.due(now));
        m.asked = Some(now);
        assert!(!m.due(now + chrono::Duration::seconds(5)));
        assert!(m.due(now + chrono::Duration::seconds(REFRESH_S)));
    }
}
