"""settle batch as two calls: settle_read(...) and settle_write(doc)

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29

PostgreSQL only. A settlement batch's writes (``service.settle_batch``: settlements, items,
mutual-aid lines, journal entries, postings, balances, year counters, audit entries) arrive as one
JSON document, one part per table, and are written by set-based statements whose plans the server
keeps. One parameter to send instead of some sixty arrays: psycopg typed every element of every
array parameter, about half the Python of a batch. The rows are built by the same Python as on
SQLite (``store.raw.Raw.deferred``); this function only moves them into their tables, in the order
the ledger's deferred trigger and the foreign keys expect, and refuses a part it does not know.

``settle_read`` is the batch's read (``service.snapshot.load``) as one call answering one JSON
document: the people the visits lead to locked in ``psn_no`` order, then, in one statement whose
snapshot is taken after the lock, everything the calculation reads, and one settlement id and one
journal id for each (institution, key) pair of the batch not settled before (a repeat draws none). Ten statements' worth of parameters, cursors and results in psycopg became one.
"""
from collections.abc import Sequence

from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: str | Sequence[str] | None = '0012'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# sent through the driver, which reads % as a placeholder: the RAISE format is written %%
WRITE = """
CREATE FUNCTION settle_write(doc jsonb) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    part text;
    a jsonb := doc->'audit';
BEGIN
    FOR part IN SELECT jsonb_object_keys(doc) LOOP
        IF part NOT IN ('insert:settlements', 'insert:settlement_items', 'insert:settlement_mulaid',
                        'insert:journal', 'insert:postings', 'update:accounts', 'update:year_usage',
                        'insert:year_usage', 'audit') THEN
            RAISE EXCEPTION 'settle_write: unknown part %%', part;
        END IF;
    END LOOP;
    INSERT INTO settlements (id, fixmedins, idem_key, request_hash, psn_no, region, setl_date, med_type, dise_codg,
                             external_rx, acct_used_flag, codes, explain, state, channel, medfee_sumamt,
                             fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt, act_pay_dedc,
                             hifp_pay, acct_pay, acct_mulaid_pay, psn_cash_pay)
    SELECT id, fixmedins, idem_key, request_hash, psn_no, region, setl_date, med_type, dise_codg,
           external_rx, acct_used_flag, codes, explain, state, channel, medfee_sumamt,
           fulamt_ownpay_amt, overlmt_selfpay, preselfpay_amt, inscp_scp_amt, act_pay_dedc,
           hifp_pay, acct_pay, acct_mulaid_pay, psn_cash_pay
      FROM jsonb_populate_recordset(NULL::settlements, doc->'insert:settlements');
    INSERT INTO settlement_items (settlement_id, seq, code, name, list_class, category, amount, selfpay_prop,
                                  overlmt, classified_by)
    SELECT settlement_id, seq, code, name, list_class, category, amount, selfpay_prop, overlmt, classified_by
      FROM jsonb_populate_recordset(NULL::settlement_items, doc->'insert:settlement_items');
    INSERT INTO settlement_mulaid (settlement_id, seq, holder, amount)
    SELECT settlement_id, seq, holder, amount
      FROM jsonb_populate_recordset(NULL::settlement_mulaid, doc->'insert:settlement_mulaid');
    INSERT INTO journal (id, kind, "on", settlement_id)
    SELECT id, kind, "on", settlement_id FROM jsonb_populate_recordset(NULL::journal, doc->'insert:journal');
    INSERT INTO postings (journal_id, account_id, amount)
    SELECT journal_id, account_id, amount FROM jsonb_populate_recordset(NULL::postings, doc->'insert:postings');
    UPDATE accounts t SET balance = v.balance
      FROM jsonb_populate_recordset(NULL::accounts, doc->'update:accounts') v WHERE t.id = v.id;
    UPDATE year_usage t SET mulaid_received = v.mulaid_received, mulaid_paid = v.mulaid_paid,
                            zeroed_received = v.zeroed_received, zeroed_paid = v.zeroed_paid
      FROM jsonb_populate_recordset(NULL::year_usage, doc->'update:year_usage') v
     WHERE t.psn_no = v.psn_no AND t.year = v.year;
    INSERT INTO year_usage (psn_no, year, mulaid_received, mulaid_paid, zeroed_received, zeroed_paid)
    SELECT psn_no, year, mulaid_received, mulaid_paid, zeroed_received, zeroed_paid
      FROM jsonb_populate_recordset(NULL::year_usage, doc->'insert:year_usage');
    IF a IS NOT NULL THEN
        PERFORM audit_append(
            ARRAY(SELECT v FROM jsonb_array_elements_text(a->'actor') WITH ORDINALITY e(v, i) ORDER BY i),
            ARRAY(SELECT v FROM jsonb_array_elements_text(a->'action') WITH ORDINALITY e(v, i) ORDER BY i),
            ARRAY(SELECT v FROM jsonb_array_elements_text(a->'target') WITH ORDINALITY e(v, i) ORDER BY i),
            ARRAY(SELECT v FROM jsonb_array_elements_text(a->'digest') WITH ORDINALITY e(v, i) ORDER BY i),
            ARRAY(SELECT v FROM jsonb_array_elements_text(a->'admdvs') WITH ORDINALITY e(v, i) ORDER BY i));
    END IF;
END $$;
"""

READ = """
CREATE FUNCTION settle_read(p_patients text[], p_serving text[], p_codes text[], p_keys text[], p_counters text[],
                            p_year integer, p_new_codes text[], p_new_keys text[], p_lock boolean)
RETURNS jsonb LANGUAGE plpgsql AS $$
DECLARE
    everyone text[] := ARRAY(SELECT unnest(p_patients) UNION
                             SELECT holder FROM bindings WHERE beneficiary = ANY (p_patients) AND state = ANY (p_serving));
    out jsonb;
BEGIN
    IF p_lock THEN
        PERFORM 1 FROM persons WHERE psn_no = ANY (everyone) ORDER BY psn_no FOR UPDATE;
    END IF;
    SELECT jsonb_build_object(
        'people', (SELECT jsonb_agg(jsonb_build_array(psn_no, insutype, insu_admdvs, status, mulaid_frozen))
                     FROM persons WHERE psn_no = ANY (everyone)),
        'institutions', (SELECT jsonb_agg(jsonb_build_array(code, level, admdvs, kind))
                           FROM institutions WHERE code = ANY (p_codes)),
        'bindings', (SELECT jsonb_agg(jsonb_build_array(id, region, holder, beneficiary, relation, state, approved_on,
                                                        unbind_requested_on, ended_on) ORDER BY id)
                       FROM bindings WHERE beneficiary = ANY (p_patients) AND state = ANY (p_serving)),
        'filings', (SELECT jsonb_agg(jsonb_build_array(psn_no, admdvs, start, "end"))
                      FROM filings WHERE psn_no = ANY (p_patients)),
        'accounts', (SELECT jsonb_agg(jsonb_build_array(psn_no, id, balance)) FROM accounts WHERE psn_no = ANY (everyone)),
        'sanctions', (SELECT jsonb_agg(jsonb_build_array(psn_no, start, "end"))
                        FROM sanctions WHERE psn_no = ANY (everyone)),
        'usage', (SELECT jsonb_agg(jsonb_build_array(psn_no, mulaid_received, mulaid_paid, zeroed_received, zeroed_paid))
                    FROM year_usage WHERE psn_no = ANY (everyone) AND year = p_year),
        'stored', (SELECT jsonb_agg(jsonb_build_array(id, fixmedins, idem_key, request_hash))
                     FROM settlements WHERE idem_key = ANY (p_keys) AND fixmedins = ANY (p_codes)),
        'counters', (SELECT jsonb_agg(jsonb_build_array(name, id)) FROM accounts WHERE name = ANY (p_counters)),
        -- ids for the (institution, key) pairs not settled before, each pair once
        'ids', (SELECT jsonb_agg(jsonb_build_array(nextval('settlements_id_seq'), nextval('journal_id_seq')))
                  FROM (SELECT DISTINCT f, k FROM unnest(p_new_codes, p_new_keys) AS t(f, k)
                         WHERE NOT EXISTS (SELECT 1 FROM settlements s WHERE s.idem_key = t.k AND s.fixmedins = t.f)) n))
      INTO out;
    RETURN out;
END $$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.get_bind().exec_driver_sql(WRITE)
        op.get_bind().exec_driver_sql(READ)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION settle_read(text[], text[], text[], text[], text[], integer, text[], text[], boolean)")
        op.execute("DROP FUNCTION settle_write(jsonb)")
