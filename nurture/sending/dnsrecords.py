"""What the sending domain publishes in DNS: the SPF, DKIM and DMARC records it needs, and
findings about what is published, as sentences.

The records come from the settings alone (`needed`); checking reads TXT records through a
resolver function (`Resolve`), dnspython's in use (`resolver`) and a dictionary in tests,
since the check must say something useful where DNS cannot be reached.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nurture.sending.dkim import DkimKey

# Where no SPF mechanisms are configured (NURTURE_SPF), the record shows this placeholder.
SPF_PLACEHOLDER = "include:YOUR-RELAY.example"
SPF_MECHANISM = re.compile(r"^[+~?-]?(?:a|mx|ptr|include|exists|ip4|ip6)(?:[:/]\S+)?$",
                           re.I)


class Unreachable(Exception):
    """Raised by a resolver when DNS cannot be asked at all (no network, no server)."""


# A name's TXT records, each as one string; [] when there are none. Raises Unreachable.
Resolve = Callable[[str], list[str]]


@dataclass(frozen=True)
class Record:
    name: str
    type: str
    value: str
    note: str  # a sentence: why, and what to change in it

    def zone_line(self) -> str:
        if self.type != "TXT":
            return f"{self.name}.  {self.type}  {self.value}"
        return f'{self.name}.  TXT  "{self.value}"'


@dataclass(frozen=True)
class Finding:
    ok: bool
    sentence: str


def needed(domain: str, keys: Sequence[DkimKey], spf: str | None, rua: str | None
           ) -> list[Record]:
    """The SPF, DKIM and DMARC records `domain` needs for Nurture's mail."""
    mechanisms = spf or SPF_PLACEHOLDER
    spf_note = ("Lets the servers named authorize mail for the domain (SPF checks the "
                "envelope sender, which is the From address)." if spf else
                f"{SPF_PLACEHOLDER} is a placeholder, not a record to publish as is: put "
                "your relay's include (Amazon SES: include:amazonses.com) or your server's "
                "ip4:/ip6: address, then set NURTURE_SPF to the same mechanisms. If the "
                "domain already has an SPF record, add them to it: a domain has one.")
    records = [Record(domain, "TXT", f"v=spf1 {mechanisms} ~all", spf_note)]
    for key, setting in zip(keys, ("NURTURE_DKIM_PRIVATE_KEY",
                                   "NURTURE_DKIM_ED25519_PRIVATE_KEY"), strict=False):
        records.append(Record(f"{key.selector}._domainkey.{domain}", "TXT", key.record(),
                              f"The public key of the key Nurture signs with ({setting})."))
    reports = rua or f"dmarc-reports@{domain}"
    records.append(Record(
        f"_dmarc.{domain}", "TXT", f"v=DMARC1; p=none; rua=mailto:{reports}; adkim=r; aspf=r",
        "Start with p=none and read the aggregate reports sent to rua for two to four "
        "weeks; once they show your mail passing SPF or DKIM aligned with the domain, move "
        "to p=quarantine, then to p=reject." + ("" if rua else
        f" {reports} is a placeholder: set NURTURE_DMARC_RUA to a mailbox that receives "
        "the reports (one at another domain must authorize it in DNS).")))
    return records


MX_PLACEHOLDER = "10 YOUR-INBOUND-MAIL-SERVER.example."


def bounce_records(bounce_domain: str | None, domain: str, spf: str | None) -> list[Record]:
    """With VERP to a bounce domain of its own (NURTURE_BOUNCE_DOMAIN), what that domain
    needs: an MX, since bounces come back to it, and an SPF record, since the envelope
    sender is there and SPF checks that domain, not the From's. None for the From domain."""
    if bounce_domain is None or bounce_domain == domain:
        return []
    aligned = bounce_domain.endswith(f".{domain}")
    return [
        Record(bounce_domain, "MX", MX_PLACEHOLDER,
               "Bounces come back to bounces+TOKEN@ this domain (VERP): point its MX at the "
               "server whose mailbox Nurture reads (NURTURE_INBOUND_IMAP_URL) or at a relay "
               "that forwards it to POST /api/inbound; the value is a placeholder."),
        Record(bounce_domain, "TXT", f"v=spf1 {spf or SPF_PLACEHOLDER} ~all",
               "SPF checks the envelope sender, which VERP puts at this domain. "
               + ("A subdomain of the From domain aligns with it for DMARC (aspf=r)."
                  if aligned else
                  f"It is no subdomain of {domain}, so SPF does not align for DMARC: "
                  "DKIM must (sign with NURTURE_DKIM_SELECTOR).")),
    ]


def check(domain: str, keys: Sequence[DkimKey], spf: str | None, resolve: Resolve
          ) -> list[Finding]:
    """What is published for `domain`, compared with what Nurture needs; a single finding
    saying so when DNS cannot be reached."""
    try:
        found = [*_spf(domain, spf, resolve(domain)), *_dkim(domain, keys, resolve),
                 *_dmarc(domain, resolve(f"_dmarc.{domain}"))]
    except Unreachable as exc:
        return [Finding(False, f"DNS could not be reached ({exc}): nothing was checked; "
                               "publish the records above and run this again where DNS "
                               "answers.")]
    return found


def _spf(domain: str, spf: str | None, txt: list[str]) -> list[Finding]:
    records = [t for t in txt if t.lower().startswith("v=spf1")]
    if not records:
        return [Finding(False, f"{domain} publishes no SPF record: publish the one above.")]
    if len(records) > 1:
        return [Finding(False, f"{domain} publishes {len(records)} SPF records, which "
                               "receivers treat as an error (permerror): merge them into "
                               "one.")]
    terms = records[0].split()[1:]
    found = []
    missing = [m for m in (spf or "").split() if m.lower() not in {t.lower() for t in terms}]
    if missing:
        found.append(Finding(False, f"The SPF record of {domain} lacks {' '.join(missing)} "
                                    "(NURTURE_SPF): add it, or mail from Nurture fails SPF."))
    ending = terms[-1].lower() if terms else ""
    if ending in ("+all", "all"):
        found.append(Finding(False, f"The SPF record of {domain} ends in {terms[-1]}, which "
                                    "lets any server send as the domain: end it in ~all or "
                                    "-all."))
    elif not missing:
        known = " and names NURTURE_SPF's mechanisms" if spf else \
            "; set NURTURE_SPF to check that it names your relay"
        found.append(Finding(True, f"{domain} publishes one SPF record{known}."))
    return found


def _dkim(domain: str, keys: Sequence[DkimKey], resolve: Resolve) -> list[Finding]:
    if not keys:
        return [Finding(True, "Nurture does not sign (NURTURE_DKIM_SELECTOR is unset): your "
                              f"relay must sign with d={domain}; a received message's "
                              "DKIM-Signature header shows it.")]
    return [_published(domain, key, resolve) for key in keys]


def _published(domain: str, key: DkimKey, resolve: Resolve) -> Finding:
    name = f"{key.selector}._domainkey.{domain}"
    published = [t for t in resolve(name) if "p=" in t]
    if not published:
        return Finding(False, f"No DKIM key is published at {name}: receivers cannot "
                              "verify what Nurture signs; publish the record above.")
    ours = _tag(key.record(), "p")
    if all(_tag(t, "p") != ours for t in published):
        return Finding(False, f"The DKIM key published at {name} is not the key Nurture "
                              "signs with: every message fails DKIM. Publish the record "
                              "above, or set the key that matches.")
    return Finding(True, f"The DKIM key at {name} matches the key Nurture signs with.")


def _dmarc(domain: str, txt: list[str]) -> list[Finding]:
    records = [t for t in txt if t.replace(" ", "").lower().startswith("v=dmarc1")]
    if not records:
        return [Finding(False, f"_dmarc.{domain} publishes no DMARC record, which Gmail and "
                               "Yahoo require of bulk senders: publish the one above.")]
    policy = (_tag(records[0], "p") or "").lower()
    found = []
    if not _tag(records[0], "rua"):
        found.append(Finding(False, f"The DMARC record of {domain} has no rua: no aggregate "
                                    "reports come back to show what passes and what fails."))
    if policy == "none":
        found.append(Finding(True, f"DMARC at {domain} only monitors (p=none): once the "
                                   "reports show your mail aligned, move to p=quarantine, "
                                   "then p=reject."))
    elif policy in ("quarantine", "reject"):
        found.append(Finding(True, f"DMARC at {domain} asks receivers to {policy} mail "
                                   "that fails."))
    else:
        found.append(Finding(False, f"The DMARC record of {domain} has no valid p= tag "
                                    "(none, quarantine or reject): receivers ignore it."))
    return found


def _tag(record: str, name: str) -> str | None:
    """One tag's value in a `k=v; k=v` record, whitespace removed (DKIM keys are folded)."""
    for part in record.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == name:
            return re.sub(r"\s+", "", value)
    return None


def resolver(timeout: float = 5.0) -> Resolve:
    """TXT lookups through dnspython and the system's resolver configuration."""
    import dns.exception  # noqa: PLC0415 (only the check needs it)
    import dns.resolver  # noqa: PLC0415

    def resolve(name: str) -> list[str]:
        try:
            answer = dns.resolver.resolve(name, "TXT", lifetime=timeout)
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        except (dns.resolver.NoNameservers, dns.resolver.NoResolverConfiguration,
                dns.exception.Timeout) as exc:
            raise Unreachable(str(exc).rstrip(".")) from None
        return [b"".join(rdata.strings).decode("utf-8", "replace") for rdata in answer]

    return resolve
