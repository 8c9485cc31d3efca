/// Rulesets loaded with `nft -f` in a throwaway network namespace (`unshare -n`) and listed with
/// `nft -j list ruleset` (nftables 1.0.6, Debian 12): the source, then nft's own JSON, verbatim.
/// Regenerate with scripts/nft-fixtures.py.
enum NftFixtures {
    static let allowedSource = #"""
        flush ruleset
        table inet mamori {
          chain output {
            type filter hook output priority filter; policy drop;
            oif "lo" accept
            ct state established,related accept
            ip daddr 10.20.0.0/16 tcp dport { 443, 8443 } accept
            ip daddr 10.30.1.5 udp dport 123 accept
            ip6 daddr fd00:20::/48 tcp dport 443 accept
          }
        }
        """#
    static let allowed = #"""
        {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "mamori", "handle": 1}}, {"chain": {"family": "inet", "table": "mamori", "name": "output", "handle": 1, "type": "filter", "hook": "output", "prio": 0, "policy": "drop"}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oif"}}, "right": "lo"}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 3, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 5, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.20.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": {"set": [443, 8443]}}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 6, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "10.30.1.5"}}, {"match": {"op": "==", "left": {"payload": {"protocol": "udp", "field": "dport"}}, "right": 123}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 7, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "daddr"}}, "right": {"prefix": {"addr": "fd00:20::", "len": 48}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}, {"accept": null}]}}]}
        """#

    static let policyAcceptSource = #"""
        flush ruleset
        table inet mamori {
          chain output {
            type filter hook output priority filter; policy accept;
            oif "lo" accept
            ip daddr 10.20.0.0/16 tcp dport 443 accept
          }
        }
        """#
    static let policyAccept = #"""
        {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "mamori", "handle": 1}}, {"chain": {"family": "inet", "table": "mamori", "name": "output", "handle": 1, "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oif"}}, "right": "lo"}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.20.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}, {"accept": null}]}}]}
        """#

    static let acceptAnySource = #"""
        flush ruleset
        table inet mamori {
          chain output {
            type filter hook output priority filter; policy drop;
            oif "lo" accept
            ct state established,related accept
            tcp dport 443 accept
          }
        }
        """#
    static let acceptAny = #"""
        {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "mamori", "handle": 1}}, {"chain": {"family": "inet", "table": "mamori", "name": "output", "handle": 1, "type": "filter", "hook": "output", "prio": 0, "policy": "drop"}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oif"}}, "right": "lo"}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 3, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 4, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}, {"accept": null}]}}]}
        """#

    static let wrongCIDRSource = #"""
        flush ruleset
        table inet mamori {
          chain output {
            type filter hook output priority filter; policy drop;
            oif "lo" accept
            ip daddr 10.20.0.0/16 tcp dport 443 accept
            ip daddr 10.99.0.0/16 tcp dport 443 accept
          }
        }
        """#
    static let wrongCIDR = #"""
        {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "mamori", "handle": 1}}, {"chain": {"family": "inet", "table": "mamori", "name": "output", "handle": 1, "type": "filter", "hook": "output", "prio": 0, "policy": "drop"}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oif"}}, "right": "lo"}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.20.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 4, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.99.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}, {"accept": null}]}}]}
        """#

    static let noOutputChainSource = #"""
        flush ruleset
        table inet filter {
          chain input {
            type filter hook input priority filter; policy drop;
            iif "lo" accept
            ct state established,related accept
          }
        }
        """#
    static let noOutputChain = #"""
        {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "filter", "handle": 1}}, {"chain": {"family": "inet", "table": "filter", "name": "input", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}}, {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "iif"}}, "right": "lo"}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "filter", "chain": "input", "handle": 3, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related"]}}, {"accept": null}]}}]}
        """#

    static let ipv4OnlySource = #"""
        flush ruleset
        table ip mamori4 {
          chain output {
            type filter hook output priority filter; policy drop;
            oif "lo" accept
            ip daddr 10.20.0.0/16 tcp dport 443 accept
          }
        }
        """#
    static let ipv4Only = #"""
        {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "ip", "name": "mamori4", "handle": 1}}, {"chain": {"family": "ip", "table": "mamori4", "name": "output", "handle": 1, "type": "filter", "hook": "output", "prio": 0, "policy": "drop"}}, {"rule": {"family": "ip", "table": "mamori4", "chain": "output", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oif"}}, "right": "lo"}}, {"accept": null}]}}, {"rule": {"family": "ip", "table": "mamori4", "chain": "output", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.20.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}, {"accept": null}]}}]}
        """#

    static let namedSetJumpAndFinalDropSource = #"""
        flush ruleset
        table inet mamori {
          set zone {
            type ipv4_addr; flags interval;
            elements = { 10.20.0.0/16, 10.30.1.5 }
          }
          chain zone_out {
            tcp dport 443 accept
            counter
          }
          chain output {
            type filter hook output priority filter; policy accept;
            oifname "lo" accept
            ct state { established, related } accept
            ip daddr @zone jump zone_out
            ip6 daddr fd00:20::/48 meta l4proto tcp th dport 443 accept
            counter reject
          }
        }
        """#
    static let namedSetJumpAndFinalDrop = #"""
        {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "mamori", "handle": 1}}, {"set": {"family": "inet", "name": "zone", "table": "mamori", "type": "ipv4_addr", "handle": 3, "flags": ["interval"], "elem": [{"prefix": {"addr": "10.20.0.0", "len": 16}}, "10.30.1.5"]}}, {"chain": {"family": "inet", "table": "mamori", "name": "zone_out", "handle": 1}}, {"chain": {"family": "inet", "table": "mamori", "name": "output", "handle": 2, "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}}, {"rule": {"family": "inet", "table": "mamori", "chain": "zone_out", "handle": 4, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "zone_out", "handle": 5, "expr": [{"counter": {"packets": 0, "bytes": 0}}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 6, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oifname"}}, "right": "lo"}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 8, "expr": [{"match": {"op": "==", "left": {"ct": {"key": "state"}}, "right": {"set": ["established", "related"]}}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 9, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "@zone"}}, {"jump": {"target": "zone_out"}}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 10, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "daddr"}}, "right": {"prefix": {"addr": "fd00:20::", "len": 48}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 11, "expr": [{"counter": {"packets": 0, "bytes": 0}}, {"reject": {"type": "icmpx", "expr": "port-unreachable"}}]}}]}
        """#

    static let newStateAndAnyPortSource = #"""
        flush ruleset
        table inet mamori {
          chain output {
            type filter hook output priority filter; policy drop;
            ct state established,related,new accept
            ip daddr 10.20.0.0/16 accept
          }
        }
        """#
    static let newStateAndAnyPort = #"""
        {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "mamori", "handle": 1}}, {"chain": {"family": "inet", "table": "mamori", "name": "output", "handle": 1, "type": "filter", "hook": "output", "prio": 0, "policy": "drop"}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 2, "expr": [{"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["established", "related", "new"]}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.20.0.0", "len": 16}}}}, {"accept": null}]}}]}
        """#

    static let permissiveSecondChainIsHarmlessSource = #"""
        flush ruleset
        table inet mamori {
          chain output {
            type filter hook output priority filter; policy drop;
            oif "lo" accept
            ip daddr 10.20.0.0/16 tcp dport 443 accept
            ip6 daddr fd00:20::/48 tcp dport 443 accept
          }
        }
        table ip docker {
          chain output {
            type filter hook output priority filter + 10; policy accept;
          }
        }
        """#
    static let permissiveSecondChainIsHarmless = #"""
        {"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"table": {"family": "inet", "name": "mamori", "handle": 1}}, {"chain": {"family": "inet", "table": "mamori", "name": "output", "handle": 1, "type": "filter", "hook": "output", "prio": 0, "policy": "drop"}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 2, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "oif"}}, "right": "lo"}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 3, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": {"prefix": {"addr": "10.20.0.0", "len": 16}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}, {"accept": null}]}}, {"rule": {"family": "inet", "table": "mamori", "chain": "output", "handle": 4, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip6", "field": "daddr"}}, "right": {"prefix": {"addr": "fd00:20::", "len": 48}}}}, {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 443}}, {"accept": null}]}}, {"table": {"family": "ip", "name": "docker", "handle": 2}}, {"chain": {"family": "ip", "table": "docker", "name": "output", "handle": 1, "type": "filter", "hook": "output", "prio": 10, "policy": "accept"}}]}
        """#

}
