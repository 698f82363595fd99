//! Lists that answer addresses can be on: sinkholes and parking services.
//!
//! The sensor's trail set already carries Maltrail's `sinkhole_<operator>.txt` and
//! `parking_site.txt` lists, refreshed with every trail update, so the preferred lookup is a
//! closure over the trail set that [`listed_answer_from_info`] turns into a [`ListedAnswer`].
//! [`builtin_listed_answer`] is a small fallback for callers without a trail set.

use std::net::{IpAddr, Ipv4Addr};

/// The list an answer address is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListedAnswer {
    /// A sinkhole run by `operator`, for example `microsoft`: the name was taken over from
    /// malware, so a client that resolves it is likely infected.
    Sinkhole { operator: String },
    /// A domain parking service.
    Parking,
}

/// Well-known sinkhole blocks and addresses with their operator, as named in the files
/// `trails/static/malware/sinkhole_<operator>.txt` of Maltrail (snapshot 8adace159e1e). Those
/// files list each address of the blocks below.
const BUILTIN_SINKHOLES: &[(Ipv4Addr, u8, &str)] = &[
    (Ipv4Addr::new(199, 2, 137, 0), 24, "microsoft"),
    (Ipv4Addr::new(204, 95, 99, 0), 24, "microsoft"),
    (Ipv4Addr::new(195, 22, 26, 192), 26, "bitsight"),
    (Ipv4Addr::new(192, 42, 116, 41), 32, "abuse"),
    (Ipv4Addr::new(192, 42, 118, 41), 32, "abuse"),
    (Ipv4Addr::new(192, 42, 119, 41), 32, "abuse"),
    (Ipv4Addr::new(87, 255, 51, 229), 32, "abuse"),
    (Ipv4Addr::new(87, 255, 51, 230), 32, "abuse"),
    (Ipv4Addr::new(38, 102, 150, 29), 32, "conficker"),
    (Ipv4Addr::new(38, 229, 70, 125), 32, "conficker"),
];

/// Looks `address` up in the built-in list of sinkholes. It knows no parking services.
pub fn builtin_listed_answer(address: IpAddr) -> Option<ListedAnswer> {
    let address = match address {
        IpAddr::V4(v4) => v4,
        IpAddr::V6(v6) => v6.to_ipv4_mapped()?,
    };
    let bits = u32::from(address);
    BUILTIN_SINKHOLES
        .iter()
        .find(|(block, prefix, _)| {
            let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
            bits & mask == u32::from(*block) & mask
        })
        .map(|(_, _, operator)| ListedAnswer::Sinkhole {
            operator: (*operator).to_owned(),
        })
}

/// Reads a trail info text as the trail set derives it from a file name: `sinkhole microsoft
/// (malware)` is a sinkhole of operator `microsoft`, and an info that starts with `parking` is
/// a parking service. Any other info returns `None`.
pub fn listed_answer_from_info(info: &str) -> Option<ListedAnswer> {
    let mut words = info.split_whitespace();
    match words.next()? {
        "sinkhole" => {
            let operator = words.next().filter(|word| !word.starts_with('('))?;
            Some(ListedAnswer::Sinkhole {
                operator: operator.to_owned(),
            })
        }
        "parking" => Some(ListedAnswer::Parking),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sinkhole(operator: &str) -> Option<ListedAnswer> {
        Some(ListedAnswer::Sinkhole {
            operator: operator.to_owned(),
        })
    }

    #[test]
    fn builtin_blocks_matched() {
        let lookup = |text: &str| builtin_listed_answer(text.parse().unwrap());
        assert_eq!(lookup("199.2.137.77"), sinkhole("microsoft"));
        assert_eq!(lookup("195.22.26.255"), sinkhole("bitsight"));
        assert_eq!(lookup("::ffff:38.102.150.29"), sinkhole("conficker"));
        assert_eq!(lookup("195.22.26.191"), None);
        assert_eq!(lookup("192.42.116.42"), None);
        assert_eq!(lookup("2001:db8::1"), None);
    }

    #[test]
    fn trail_info_read_as_list() {
        assert_eq!(
            listed_answer_from_info("sinkhole microsoft (malware)"),
            sinkhole("microsoft")
        );
        assert_eq!(
            listed_answer_from_info("parking site (suspicious)"),
            Some(ListedAnswer::Parking)
        );
        assert_eq!(listed_answer_from_info("sinkhole (malware)"), None);
        assert_eq!(listed_answer_from_info("asyncrat (malware)"), None);
        assert_eq!(listed_answer_from_info(""), None);
    }
}
