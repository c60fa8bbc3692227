mod outer {
    pub mod inner {
        #[derive(typool::Pooled)]
        pub struct Deep {
            pub value: u32,
        }
    }
}

use typool::PoolBox;

fn main() {
    let d = PoolBox::new(outer::inner::Deep { value: 5 });
    assert_eq!(d.value, 5);
    assert_eq!(<outer::inner::Deep as typool::Pooled>::pool().stats().type_name, "Deep");
}
