use typool::{MeshReport, PoolBox, Pooled};

#[derive(Pooled)]
#[pooled(mesh, decay_ms = 100)]
struct Record {
    id: u64,
    payload: [u8; 40],
}

fn main() {
    let all: Vec<_> = (0..1000)
        .map(|id| PoolBox::new(Record { id, payload: [0; 40] }))
        .collect();
    let kept: Vec<_> = all.into_iter().step_by(8).collect();
    Record::pool().trim();
    let report: MeshReport = Record::pool().mesh();
    println!("{report}");
    assert!(kept.iter().all(|r| r.id % 8 == 0 && r.payload[0] == 0));
}
