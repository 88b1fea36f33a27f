"""The schema. Money columns are BIGINT fen; no float column exists.

Ledger (TigerBeetle-like, kept to what SQL checks cheaply): a ``Journal`` entry is one event (a
credit, a settlement, a reversal, a quota zeroing) and its ``Posting`` lines sum to zero per
ledger. ``Account.balance`` is kept only for personal accounts, the ones that must never go below
zero; the counter-accounts (contributions, pooled fund, institutions) are summed from postings when
needed, so concurrent settlements do not queue on one hot row.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

Psn = String(64)
PENDING_APPROVAL = text("state = 'pending_approval'")  # a literal, so the partial index applies


class Base(DeclarativeBase):
    pass


class Institution(Base):
    __tablename__ = "institutions"
    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    level: Mapped[int] = mapped_column(Integer)
    admdvs: Mapped[str] = mapped_column(String(6))
    kind: Mapped[str] = mapped_column(String(16))
    registered_on: Mapped[date] = mapped_column(Date)
    # HMAC key for signed requests (hex); shown once when made or rotated
    secret: Mapped[str | None] = mapped_column(String(64))
    suspended: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    # the x-tif gateway's application account (x-tif-paasid) when it is not the code itself
    paasid: Mapped[str | None] = mapped_column(String(64))
    __table_args__ = (CheckConstraint("level IN (1, 2, 3)", name="level_known"),
                      Index("one_institution_per_paasid", "paasid", unique=True))


class Person(Base):
    __tablename__ = "persons"
    psn_no: Mapped[str] = mapped_column(Psn, primary_key=True)
    name: Mapped[str | None] = mapped_column(String(100))
    certno: Mapped[str | None] = mapped_column(String(18), unique=True)  # shown masked
    phone: Mapped[str | None] = mapped_column(String(20))
    insutype: Mapped[str] = mapped_column(String(3))
    insu_admdvs: Mapped[str] = mapped_column(String(6), index=True)  # staff areas filter on it
    status: Mapped[str] = mapped_column(String(16), default="active")
    status_on: Mapped[date | None] = mapped_column(Date)
    mulaid_frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    registered_on: Mapped[date] = mapped_column(Date)
    password_hash: Mapped[str | None] = mapped_column(String(200))  # argon2id; portal login
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)


class DirectoryEntry(Base):
    """Which province keeps a person: in every province's database (``service.provinces``)."""

    __tablename__ = "person_directory"
    psn_no: Mapped[str] = mapped_column(Psn, primary_key=True)
    province: Mapped[str] = mapped_column(String(2))


class Account(Base):
    """A ledger account. ``personal`` accounts belong to a person and keep a balance."""

    __tablename__ = "accounts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # personal | contributions | pool | institution | payout | quota
    ledger: Mapped[str] = mapped_column(String(8), default="CNY")  # CNY | QUOTA
    psn_no: Mapped[str | None] = mapped_column(Psn, ForeignKey("persons.psn_no"), unique=True)
    balance: Mapped[int | None] = mapped_column(BigInteger)
    __table_args__ = (
        CheckConstraint("balance IS NULL OR balance >= 0", name="balance_not_negative"),
        CheckConstraint("(kind = 'personal') = (balance IS NOT NULL)", name="balance_personal_only"),
    )


class Journal(Base):
    __tablename__ = "journal"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # opening | credit | settle | reverse | reimburse | zero_quota
    on: Mapped[date] = mapped_column(Date)
    ref: Mapped[str | None] = mapped_column(String(120), unique=True)  # e.g. a credits file row
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    postings: Mapped[list[Posting]] = relationship(back_populates="journal", order_by="Posting.id")


class Posting(Base):
    __tablename__ = "postings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    journal_id: Mapped[int] = mapped_column(ForeignKey("journal.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # + raises the account's balance, − lowers it
    journal: Mapped[Journal] = relationship(back_populates="postings")
    __table_args__ = (CheckConstraint("amount <> 0", name="amount_not_zero"),)


class Binding(Base):
    """One application and its whole life: pending → approved → unbound / ended, or rejected /
    withdrawn. A new application for the same pair is a new row."""

    __tablename__ = "bindings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    region: Mapped[str] = mapped_column(String(6))  # the holder's policy region
    holder: Mapped[str] = mapped_column(Psn, ForeignKey("persons.psn_no"), index=True)
    beneficiary: Mapped[str] = mapped_column(Psn, ForeignKey("persons.psn_no"), index=True)
    relation: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    materials: Mapped[list] = mapped_column(JSON, default=list)
    e_commitment: Mapped[bool] = mapped_column(Boolean, default=False)
    face_check: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16))  # pending approved rejected withdrawn unbound ended
    applied_on: Mapped[date] = mapped_column(Date)
    review_due: Mapped[date] = mapped_column(Date, index=True)
    review_due_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    reviewer: Mapped[str | None] = mapped_column(String(64))
    decided_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(String(200))
    approved_on: Mapped[date | None] = mapped_column(Date)
    unbind_requested_on: Mapped[date | None] = mapped_column(Date)
    ended_on: Mapped[date | None] = mapped_column(Date)
    end_reason: Mapped[str | None] = mapped_column(String(16))


class Filing(Base):
    __tablename__ = "filings"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    psn_no: Mapped[str] = mapped_column(Psn, ForeignKey("persons.psn_no"), index=True)
    admdvs: Mapped[str] = mapped_column(String(6))
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    filed_on: Mapped[date] = mapped_column(Date)


class Sanction(Base):
    __tablename__ = "sanctions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    psn_no: Mapped[str] = mapped_column(Psn, ForeignKey("persons.psn_no"), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    reason: Mapped[str] = mapped_column(String(200))
    recorded_on: Mapped[date] = mapped_column(Date)


class Event(Base):
    """The person's history: freeze, unfreeze and status changes, as they happened."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    psn_no: Mapped[str] = mapped_column(Psn, ForeignKey("persons.psn_no"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # freeze | unfreeze | status
    value: Mapped[str | None] = mapped_column(String(32))
    on: Mapped[date] = mapped_column(Date)


def setl_id_of(id_: int) -> str:
    return f"S{id_:08d}"


def settlement_pk(setl_id: str) -> int | None:
    """``"S00000042"`` → 42; None for anything that is not a settlement id (no key is that large)."""
    if 9 <= len(setl_id) <= 11 and setl_id[0] == "S" and setl_id[1:].isascii() and setl_id[1:].isdigit():
        pk = int(setl_id[1:])
        return pk if pk <= 2**31 - 1 else None
    return None


class Settlement(Base):
    __tablename__ = "settlements"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fixmedins: Mapped[str] = mapped_column(String(64), ForeignKey("institutions.code"))
    idem_key: Mapped[str] = mapped_column(String(64))
    request_hash: Mapped[str] = mapped_column(String(64))
    psn_no: Mapped[str] = mapped_column(Psn, ForeignKey("persons.psn_no"), index=True)
    region: Mapped[str] = mapped_column(String(6))
    setl_date: Mapped[date] = mapped_column(Date)
    med_type: Mapped[str] = mapped_column(String(4))
    dise_codg: Mapped[str | None] = mapped_column(String(32))
    external_rx: Mapped[bool] = mapped_column(Boolean)
    acct_used_flag: Mapped[str] = mapped_column(String(1))
    medfee_sumamt: Mapped[int] = mapped_column(BigInteger)
    fulamt_ownpay_amt: Mapped[int] = mapped_column(BigInteger)
    overlmt_selfpay: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    preselfpay_amt: Mapped[int] = mapped_column(BigInteger)
    inscp_scp_amt: Mapped[int] = mapped_column(BigInteger)
    act_pay_dedc: Mapped[int] = mapped_column(BigInteger)
    hifp_pay: Mapped[int] = mapped_column(BigInteger)
    acct_pay: Mapped[int] = mapped_column(BigInteger)
    acct_mulaid_pay: Mapped[int] = mapped_column(BigInteger)
    psn_cash_pay: Mapped[int] = mapped_column(BigInteger)
    codes: Mapped[list] = mapped_column(JSON)
    explain: Mapped[list] = mapped_column(JSON)
    # settled | reversed; a manual one above its region's threshold: pending_approval, then
    # settled (approved) or rejected
    state: Mapped[str] = mapped_column(String(16), default="settled")
    # direct: settled at the counter; manual: reimbursed afterwards by the agency (手工报销)
    channel: Mapped[str] = mapped_column(String(8), default="direct", server_default="direct")
    reversed_on: Mapped[date | None] = mapped_column(Date)
    reverse_key: Mapped[str | None] = mapped_column(String(64))
    # four eyes, manual only: who entered it, and the supervisor who approved or rejected it
    entered_by: Mapped[str | None] = mapped_column(String(80))
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_on: Mapped[date | None] = mapped_column(Date)
    # settled through the national interface (2207/2102): its visit, charge batch, the settling
    # message's msgid (medins_setl_id) and time (China time)
    mdtrt_id: Mapped[str | None] = mapped_column(String(30), index=True)
    chrg_bchno: Mapped[str | None] = mapped_column(String(30))
    medins_setl_id: Mapped[str | None] = mapped_column(String(64))
    setl_time: Mapped[datetime | None] = mapped_column(DateTime)
    balc: Mapped[int | None] = mapped_column(BigInteger)  # the patient's own balance just after (setlinfo.balc)
    # who settled it and who reversed it (the actor: institution:CODE, or institution:CODE/cashier),
    # for the supervision of reversal rates per cashier
    settled_by: Mapped[str | None] = mapped_column(String(80))
    reversed_by: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    items: Mapped[list[SettlementItem]] = relationship(order_by="SettlementItem.seq")
    mulaid: Mapped[list[MulaidPayment]] = relationship(order_by="MulaidPayment.seq")
    @property
    def setl_id(self) -> str:
        return setl_id_of(self.id)

    __table_args__ = (
        # the key first (PostgreSQL, migration 0012): a batch's keys are found one descent each
        # whatever the statistics say of the institution; SQLite keeps (fixmedins, idem_key)
        UniqueConstraint("idem_key", "fixmedins", name="one_settlement_per_key"),
        Index("settlements_by_date", "setl_date"),
        # the four-eyes queue: few rows, found without reading the settled ones
        Index("settlements_pending_approval", "id", sqlite_where=PENDING_APPROVAL,
              postgresql_where=PENDING_APPROVAL),
    )


class SettlementItem(Base):
    __tablename__ = "settlement_items"
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    list_class: Mapped[str] = mapped_column(String(1))
    category: Mapped[str] = mapped_column(String(20))
    amount: Mapped[int] = mapped_column(BigInteger)
    selfpay_prop: Mapped[str] = mapped_column(String(20))  # exact ratio text, e.g. "1/10"
    overlmt: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # catalog: classified by the catalogue (医保目录) from its code; caller: as the caller typed it
    classified_by: Mapped[str] = mapped_column(String(8), default="caller", server_default="caller")


class MulaidPayment(Base):
    __tablename__ = "settlement_mulaid"
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    holder: Mapped[str] = mapped_column(Psn, ForeignKey("persons.psn_no"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)


class YearUsage(Base):
    """Per person and calendar year: mutual-aid received (as beneficiary) and paid (as holder);
    ``zeroed_*`` is quota forfeited at death, which counts as used."""

    __tablename__ = "year_usage"
    psn_no: Mapped[str] = mapped_column(Psn, ForeignKey("persons.psn_no"), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    mulaid_received: Mapped[int] = mapped_column(BigInteger, default=0)
    mulaid_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    zeroed_received: Mapped[int] = mapped_column(BigInteger, default=0)
    zeroed_paid: Mapped[int] = mapped_column(BigInteger, default=0)
    __table_args__ = (
        CheckConstraint("mulaid_received >= 0 AND mulaid_paid >= 0 AND zeroed_received >= 0"
                        " AND zeroed_paid >= 0", name="usage_not_negative"),
    )


class CreditBatch(Base):
    """A monthly credits file, by its content hash: the same file is applied once."""

    __tablename__ = "credit_batches"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(255))
    rows: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(BigInteger)
    applied_rows: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())
    finished: Mapped[bool] = mapped_column(Boolean, default=False)


class Staff(Base):
    """Agency staff: clerk (applications, reviews), supervisor (sanctions, lifecycle, reversals,
    credits), auditor (read only, audit log), admin (institutions, staff)."""

    __tablename__ = "staff"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # the admdvs prefix served (service.scope): 2, 4 or 6 digits, or "" for the whole country
    area: Mapped[str] = mapped_column(String(6), default="", server_default="")
    __table_args__ = (CheckConstraint("role IN ('clerk', 'supervisor', 'auditor', 'admin')", name="role_known"),)


class LoginSession(Base):
    """A login: the cookie holds a random token, the table only its SHA-256."""

    __tablename__ = "sessions"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # staff | person
    subject: Mapped[str] = mapped_column(String(64))
    csrf: Mapped[str] = mapped_column(String(64))
    expires_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class Nonce(Base):
    """Nonces of signed requests seen in the last minutes: a replayed request is refused."""

    __tablename__ = "nonces"
    inst_code: Mapped[str] = mapped_column(String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[int] = mapped_column(BigInteger, index=True)  # unix seconds


class AuditEntry(Base):
    """Append-only, chained: ``hash`` = SHA-256 of the previous hash and this row's fields, so an
    edited or deleted row breaks every later link (``gongji verify`` walks the chain)."""

    __tablename__ = "audit"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[str] = mapped_column(String(32))  # ISO time, kept as text so the hash is stable
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(120))
    payload_digest: Mapped[str] = mapped_column(String(64))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    # insu_admdvs of the persons it names, for staff of an area (service.scope); not hashed
    admdvs: Mapped[str | None] = mapped_column(String(64))


class AuditHead(Base):
    """One row: the chain's last hash. Writers lock it, so the chain never forks."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_id: Mapped[int] = mapped_column(Integer, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class Cashier(Base):
    """A cashier of a designated institution, who logs in to the cashier page; acts as the
    institution (its settlements, its rules), like a signed request of it."""

    __tablename__ = "cashiers"
    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    inst_code: Mapped[str] = mapped_column(String(64), ForeignKey("institutions.code"), index=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(DateTime)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CatalogEntry(Base):
    """One line of the insurance catalogue (医保目录) for a code, a region and a period: how a fee
    line of that code is classified. ``admdvs`` "" is every region, else a code prefix (the
    longest matching prefix wins); a later ``begndate`` for the same code and region supersedes."""

    __tablename__ = "catalog"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    med_list_codg: Mapped[str] = mapped_column(String(50))
    admdvs: Mapped[str] = mapped_column(String(6), default="", server_default="")
    begndate: Mapped[date] = mapped_column(Date)
    enddate: Mapped[date | None] = mapped_column(Date)
    name: Mapped[str] = mapped_column(String(200))
    med_chrgitm_type: Mapped[str] = mapped_column(String(6))
    chrgitm_lv: Mapped[str] = mapped_column(String(3))  # 01 甲 02 乙 03 丙
    selfpay_prop: Mapped[str] = mapped_column(String(12))  # exact decimal text, e.g. "0.05"
    pric_uplmt_amt: Mapped[int | None] = mapped_column(BigInteger)  # millionths of a yuan; None uncapped
    lmt_used_flag: Mapped[str] = mapped_column(String(1), default="0")
    category: Mapped[str] = mapped_column(String(20))
    __table_args__ = (UniqueConstraint("med_list_codg", "admdvs", "begndate", name="one_catalog_line_per_start"),)


class NhsaSignin(Base):
    """A 9001 sign-in of an operator of an institution; 9002 signs it out."""

    __tablename__ = "nhsa_signins"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fixmedins: Mapped[str] = mapped_column(String(64), ForeignKey("institutions.code"), index=True)
    opter_no: Mapped[str] = mapped_column(String(30))
    signed_in_at: Mapped[datetime] = mapped_column(DateTime)
    signed_out_at: Mapped[datetime | None] = mapped_column(DateTime)


class NhsaVisit(Base):
    """An outpatient visit registered by 2201 (``mdtrt_id`` is gongji's), typed and diagnosed by
    2203, cancelled by 2202."""

    __tablename__ = "nhsa_visits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fixmedins: Mapped[str] = mapped_column(String(64), ForeignKey("institutions.code"), index=True)
    psn_no: Mapped[str] = mapped_column(Psn, ForeignKey("persons.psn_no"), index=True)
    insutype: Mapped[str] = mapped_column(String(6))
    mdtrt_cert_type: Mapped[str] = mapped_column(String(3))
    ipt_otp_no: Mapped[str] = mapped_column(String(30))
    begntime: Mapped[datetime] = mapped_column(DateTime)
    dept_name: Mapped[str] = mapped_column(String(100), default="")
    dr_name: Mapped[str] = mapped_column(String(50), default="")
    med_type: Mapped[str | None] = mapped_column(String(6))  # from 2203
    dise_codg: Mapped[str | None] = mapped_column(String(30))  # 2203 mdtrtinfo.dise_codg
    main_diag: Mapped[str | None] = mapped_column(String(20))  # ICD-10 of the main diagnosis
    diagnoses: Mapped[list] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(12), default="registered")  # registered | cancelled
    created_at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())

    @property
    def mdtrt_id(self) -> str:
        return mdtrt_id_of(self.id)


def mdtrt_id_of(id_: int) -> str:
    return f"{id_:010d}"


def visit_pk(mdtrt_id: str) -> int | None:
    if len(mdtrt_id) == 10 and mdtrt_id.isascii() and mdtrt_id.isdigit():
        pk = int(mdtrt_id)
        return pk if 0 < pk <= 2**31 - 1 else None
    return None


class NhsaFeeLine(Base):
    """A fee line uploaded by 2204, classified by the catalogue when it came: unsettled, then
    settled with its batch (2207), withdrawn (2205), or cancelled with its settlement (2208)."""

    __tablename__ = "nhsa_fee_lines"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("nhsa_visits.id"), index=True)
    feedetl_sn: Mapped[str] = mapped_column(String(30))
    chrg_bchno: Mapped[str] = mapped_column(String(30))
    med_list_codg: Mapped[str] = mapped_column(String(50))
    medins_list_codg: Mapped[str] = mapped_column(String(150), default="")
    name: Mapped[str] = mapped_column(String(200))
    fee_ocur_time: Mapped[datetime] = mapped_column(DateTime)
    cnt: Mapped[str] = mapped_column(String(24))  # exact decimal text
    pric: Mapped[str] = mapped_column(String(24))
    amount: Mapped[int] = mapped_column(BigInteger)  # det_item_fee_sumamt, fen
    rx_circ_flag: Mapped[str] = mapped_column(String(1), default="0")
    # the catalogue's answer (2204 result)
    chrgitm_lv: Mapped[str] = mapped_column(String(3))
    med_chrgitm_type: Mapped[str] = mapped_column(String(6))
    category: Mapped[str] = mapped_column(String(20))
    selfpay_prop: Mapped[str] = mapped_column(String(12))
    pric_uplmt_amt: Mapped[int | None] = mapped_column(BigInteger)
    lmt_used_flag: Mapped[str] = mapped_column(String(1), default="0")
    fulamt_ownpay_amt: Mapped[int] = mapped_column(BigInteger)
    overlmt_amt: Mapped[int] = mapped_column(BigInteger)
    preselfpay_amt: Mapped[int] = mapped_column(BigInteger)
    inscp_scp_amt: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(12), default="unsettled")  # unsettled settled withdrawn cancelled
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"), index=True)
    __table_args__ = (Index("one_live_line_per_sn", "visit_id", "feedetl_sn", unique=True,
                            sqlite_where=text("state IN ('unsettled', 'settled')"), postgresql_where=text("state IN ('unsettled', 'settled')")),)


class NhsaMessage(Base):
    """A message that changed something, by its sender's ``msgid``: the same msgid and input get
    the stored reply; a 2207 or 2102 names what it booked, for 2601."""

    __tablename__ = "nhsa_messages"
    fixmedins: Mapped[str] = mapped_column(String(64), primary_key=True)
    msgid: Mapped[str] = mapped_column(String(64), primary_key=True)
    infno: Mapped[str] = mapped_column(String(8))
    input_hash: Mapped[str] = mapped_column(String(64))
    reply: Mapped[str] = mapped_column(Text)  # the reply's output and warn_msg, as sent (JSON text)
    settlement_id: Mapped[int | None] = mapped_column(ForeignKey("settlements.id"))
    reversed_by: Mapped[str | None] = mapped_column(String(64))  # the 2601's msgid
    at: Mapped[datetime] = mapped_column(DateTime, server_default=func.now())


class SupervisionFlag(Base):
    """A finding of a supervision rule (``service.supervise``): who, where, when, why, and what the
    clerk made of it. open → confirmed | excluded; confirmed → sanctioned."""

    __tablename__ = "supervision_flags"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    rule: Mapped[str] = mapped_column(String(40))  # the rule's id in policies/supervision.yaml
    severity: Mapped[str] = mapped_column(String(8))  # high | medium | low
    subject: Mapped[str] = mapped_column(String(120))  # person:PSN, family:HOLDER, institution:CODE, cashier:ACTOR
    psn_nos: Mapped[list] = mapped_column(JSON, default=list)
    fixmedins: Mapped[str | None] = mapped_column(String(64))
    region: Mapped[str] = mapped_column(String(6))
    admdvs: Mapped[str | None] = mapped_column(String(64))  # of the persons (or the institution), for staff areas
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    amount: Mapped[int] = mapped_column(BigInteger, default=0)  # fen: what the rule measured (drawn, billed)
    measure: Mapped[dict] = mapped_column(JSON, default=dict)  # the figures and the thresholds used
    reason: Mapped[str] = mapped_column(Text)  # one Chinese sentence
    state: Mapped[str] = mapped_column(String(12), default="open")
    found_on: Mapped[date] = mapped_column(Date)
    updated_on: Mapped[date] = mapped_column(Date)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_on: Mapped[date | None] = mapped_column(Date)
    decision_reason: Mapped[str | None] = mapped_column(String(200))
    sanction_id: Mapped[int | None] = mapped_column(ForeignKey("sanctions.id"))
    __table_args__ = (
        CheckConstraint("state IN ('open', 'confirmed', 'excluded', 'sanctioned')", name="flag_state_known"),
        CheckConstraint("period_start <= period_end", name="flag_period_ordered"),
        Index("flags_by_subject", "rule", "subject", "period_start"),
        Index("flags_by_state", "state", "severity"),
    )


class FlagEvidence(Base):
    """A settlement that is evidence for a flag."""

    __tablename__ = "supervision_evidence"
    flag_id: Mapped[int] = mapped_column(ForeignKey("supervision_flags.id"), primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("settlements.id"), primary_key=True, index=True)


class SupervisionRun(Base):
    """One run of the rules: what it covered, so the next run reads only what is new."""

    __tablename__ = "supervision_runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    started_at: Mapped[datetime] = mapped_column(DateTime)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime)
    by: Mapped[str] = mapped_column(String(80))
    date_from: Mapped[date | None] = mapped_column(Date)
    date_to: Mapped[date | None] = mapped_column(Date)
    upto_id: Mapped[int] = mapped_column(Integer, default=0)  # settlements up to this id were read
    reversals_since: Mapped[date | None] = mapped_column(Date)
    flags_new: Mapped[int] = mapped_column(Integer, default=0)
    flags_extended: Mapped[int] = mapped_column(Integer, default=0)
