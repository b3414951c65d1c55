// Package store keeps the gateway's own history of readings and events in a
// SQLite file, so that with no InfluxDB configured, or while it is down, the
// gateway still keeps and serves history (GB/T 45839 asks for at least 30
// days). The alarm journal keeps its own file (gateway/alarms), so its
// fsynced commits never wait for this one's write lock.
//
// The file lives on an SD card, which wears with every write and stalls on
// fsync, so the store is built to write little and in large pieces:
//
//   - WAL journal mode with synchronous=NORMAL by default: a commit appends
//     to the WAL without an fsync; SQLite's automatic checkpoint (every
//     1000 pages) copies pages back and fsyncs once. A power cut loses at
//     most the last commits, never consistency. synchronous=full fsyncs
//     every commit.
//   - One transaction per Write call, whatever the batch size, through
//     prepared statements.
//   - Readings are a WITHOUT ROWID table keyed by (device, point, ts): one
//     b-tree, no second index to update, and a device's point over a time
//     range is one contiguous range scan. Time is unix milliseconds.
//   - Because of that key, a commit rewrites about one page per series it
//     touches, so what a Write costs the card grows with the number of
//     distinct (device, point) pairs in the batch, not with the readings:
//     batches gathered over time are far cheaper than one poll of every
//     device per Write (BenchmarkWrite shows ~8 KB written per reading for
//     1000 series × 1 sample, ~0.3 KB for 10 series × 100 samples).
//   - Pruning deletes in bounded transactions, so a Write never waits long
//     behind it, and freed pages are reused by new rows rather than
//     vacuumed (a VACUUM rewrites the whole file).
//
// Writes are idempotent: a reading is identified by (device, point, time to
// the millisecond) and an event by (device, kind, time to the millisecond);
// writing either again, as a replay after a crash does, stores nothing new.
// The first write wins.
package store
