// Builds assets/map/world.vgm, the console's map: coastlines and country
// borders from Natural Earth 1:50m (npm `world-atlas`), and the borders
// between US states from the US Census (npm `us-atlas`), both public
// domain. Run through scripts/map/build.sh, which fetches the packages.
//
// Usage: node convert.mjs WORLD_ATLAS_DIR US_ATLAS_DIR OUT_FILE
//
// The output (little-endian):
//   "VGMAP1\0\0"  magic
//   u32           polyline count
//   per polyline: u8 layer (0 coast and borders, 1 state borders),
//                 u16 point count, then per point i16 lon, i16 lat in
//                 hundredths of a degree.
import { readFileSync, writeFileSync } from "node:fs";

const [worldDir, usDir, out] = process.argv.slice(2);
if (!worldDir || !usDir || !out) {
  console.error("usage: node convert.mjs WORLD_ATLAS_DIR US_ATLAS_DIR OUT_FILE");
  process.exit(2);
}

// TopoJSON arcs, decoded to [lon, lat] in degrees.
function arcs(topo) {
  const [sx, sy] = topo.transform.scale;
  const [tx, ty] = topo.transform.translate;
  return topo.arcs.map((arc) => {
    let x = 0;
    let y = 0;
    return arc.map(([dx, dy]) => {
      x += dx;
      y += dy;
      return [x * sx + tx, y * sy + ty];
    });
  });
}

// Indices of the arcs that the geometries of `object` use, with how many
// distinct geometries use each.
function arcUse(object) {
  const use = new Map();
  const walk = (a, seen) => {
    if (typeof a === "number") {
      const i = a < 0 ? ~a : a;
      if (!seen.has(i)) {
        seen.add(i);
        use.set(i, (use.get(i) || 0) + 1);
      }
    } else {
      for (const b of a) walk(b, seen);
    }
  };
  for (const g of object.geometries) walk(g.arcs || [], new Set());
  return use;
}

// Drops points closer than `eps` degrees to the last one kept.
function thin(points, eps) {
  const kept = [points[0]];
  for (let i = 1; i < points.length; i++) {
    const [x, y] = points[i];
    const [lx, ly] = kept[kept.length - 1];
    if (Math.abs(x - lx) >= eps || Math.abs(y - ly) >= eps || i === points.length - 1) {
      kept.push(points[i]);
    }
  }
  return kept;
}

const lines = [];
// One polyline per run that does not jump across the antimeridian, in
// parts of at most 65,535 points.
const add = (layer, points) => {
  const q = thin(points, 0.02).map(([x, y]) => [Math.round(x * 100), Math.round(y * 100)]);
  let run = [];
  const flush = () => {
    for (let start = 0; start < run.length - 1; start += 65534) {
      const part = run.slice(start, start + 65535);
      if (part.length >= 2) lines.push({ layer, points: part });
    }
    run = [];
  };
  for (const p of q) {
    if (run.length > 0 && Math.abs(p[0] - run[run.length - 1][0]) > 18000) flush();
    run.push(p);
  }
  flush();
};

const world = JSON.parse(readFileSync(`${worldDir}/countries-50m.json`, "utf8"));
for (const a of arcs(world)) add(0, a);

// Only the borders between two states: the coast is Natural Earth's.
const us = JSON.parse(readFileSync(`${usDir}/states-10m.json`, "utf8"));
const usArcs = arcs(us);
for (const [i, n] of arcUse(us.objects.states)) {
  if (n >= 2) add(1, usArcs[i]);
}

let size = 12;
for (const l of lines) size += 3 + 4 * l.points.length;
const buf = Buffer.alloc(size);
buf.write("VGMAP1\0\0", 0, "latin1");
buf.writeUInt32LE(lines.length, 8);
let o = 12;
let points = 0;
for (const l of lines) {
  buf.writeUInt8(l.layer, o);
  buf.writeUInt16LE(l.points.length, o + 1);
  o += 3;
  for (const [x, y] of l.points) {
    buf.writeInt16LE(x, o);
    buf.writeInt16LE(y, o + 2);
    o += 4;
  }
  points += l.points.length;
}
writeFileSync(out, buf);
console.log(`${out}: ${lines.length} polylines, ${points} points, ${size} bytes`);
