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
//     prepared statements that insert 64 readings each (and now and then a
//     second one, the merge below).
//   - Readings are a WITHOUT ROWID table keyed by (device, point, ts): one
//     b-tree, no second index to update, and a device's point over a time
//     range is one contiguous range scan. Time is unix milliseconds.
//   - Because of that key, inserting a batch there rewrites about one page
//     per series it touches: a poll of every device, or a batch of the
//     MQTT driver from a thousand devices, cost a page per reading. So
//     Write appends readings to recent, a plain table written in arrival
//     order (a few pages per commit, however many series), and once it
//     holds 16k readings the Write that fills it moves them into readings
//     in one transaction, in key order, each series' new samples together
//     on its last page. Queries read both. BenchmarkWriteManySeries (1000
//     devices × 2 points, 2000 readings a batch) went from about 20 µs and
//     6.2 KB written per reading to 5 µs and 0.9 KB (34 µs and 10.6 KB to
//     9 µs and 2.3 KB with 500k readings stored); BenchmarkWrite shows
//     ~0.8 KB per reading for 1000 series × 1 sample, ~0.2 KB for 10
//     series × 100 samples.
//   - Pruning deletes in bounded transactions, so a Write never waits long
//     behind it, and freed pages are reused by new rows rather than
//     vacuumed (a VACUUM rewrites the whole file).
//
// Writes are idempotent: a reading is identified by (device, point, time to
// the millisecond) and an event by (device, kind, time to the millisecond);
// writing either again, as a replay after a crash does, stores nothing new.
// The first write wins. (A replayed reading is appended to recent like any
// other, and dropped when recent is merged.)
package store
