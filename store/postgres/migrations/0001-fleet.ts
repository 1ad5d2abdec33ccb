/**
 * The fleet's schema: every host's allocations, relabels, events, denials and enforcing
 * states, each row carrying its host; where each host's shipping stands; and the rules
 * the engine enforces rather than the code: one holder per label and time on a host (an
 * exclusion constraint), a host's role writes only its own rows (row-level security),
 * events and denials in monthly partitions that retention drops whole.
 *
 * Roles: `svirt_audit_host` (one login role per host, members of it, named in
 * fleet_host) and `svirt_audit_reader` (the central serve, read commands). The owner of
 * the tables is the administrator who ran `fleet init`.
 */

export const sql = `
  CREATE EXTENSION IF NOT EXISTS btree_gist;

  CREATE TABLE fleet_host (
    name     text PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9._-]{1,253}$'),
    role     name NOT NULL UNIQUE,
    added_at timestamptz NOT NULL DEFAULT now()
  );

  -- The host the connected role ships for (NULL for readers and the owner).
  CREATE FUNCTION fleet_current_host() RETURNS text LANGUAGE sql STABLE
    AS $$ SELECT name FROM fleet_host WHERE role = current_user $$;

  -- Milliseconds since the epoch, as SQLite and the JSON answers count time.
  CREATE FUNCTION fleet_ms(t timestamptz) RETURNS bigint LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT (extract(epoch FROM t) * 1000)::bigint $$;
  CREATE FUNCTION fleet_time(ms bigint) RETURNS timestamptz LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT timestamptz 'epoch' + ms * interval '1 millisecond' $$;

  CREATE TABLE allocation (
    id          bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    host        text NOT NULL REFERENCES fleet_host (name),
    local_id    bigint NOT NULL,
    vm_uuid     text NOT NULL,
    vm_name     text NOT NULL,
    model       text NOT NULL CHECK (model IN ('selinux', 'apparmor', 'none')),
    label       text,
    image_label text,
    categories  text NOT NULL DEFAULT '',
    pid         integer,
    source      text NOT NULL,
    started_at  timestamptz NOT NULL,
    ended_at    timestamptz,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (host, local_id),
    CHECK (ended_at IS NULL OR ended_at >= started_at),
    -- A denial has at most one owner: on one host, one holder per label at any time.
    CONSTRAINT one_holder_per_label EXCLUDE USING gist (
      host WITH =,
      (CASE WHEN model = 'apparmor' THEN 'apparmor:' || coalesce(label, '') ELSE categories END) WITH =,
      tstzrange(started_at, ended_at, '[)') WITH &&
    ) WHERE (model = 'apparmor' OR (model = 'selinux' AND categories <> ''))
  );
  CREATE INDEX allocation_by_label ON allocation (host, categories, started_at);
  CREATE INDEX allocation_by_profile ON allocation (host, label, started_at) WHERE model = 'apparmor';
  CREATE INDEX allocation_by_vm ON allocation (vm_uuid, started_at);
  CREATE INDEX allocation_by_name ON allocation (vm_name);

  -- What each VM definition said should be labelled, as the host recorded it (explain's evidence).
  CREATE TABLE allocation_disk (
    host                text NOT NULL REFERENCES fleet_host (name),
    allocation_local_id bigint NOT NULL,
    ordinal             integer NOT NULL,
    path                text NOT NULL,
    mode                text NOT NULL,
    expected_label      text,
    relabel             smallint NOT NULL,
    PRIMARY KEY (host, allocation_local_id, path)
  );

  CREATE TABLE relabel (
    host                text NOT NULL REFERENCES fleet_host (name),
    local_id            bigint NOT NULL,
    allocation_local_id bigint NOT NULL,
    path                text NOT NULL,
    label_before        text,
    label_after         text,
    action              text NOT NULL,
    error               text,
    at                  timestamptz NOT NULL,
    PRIMARY KEY (host, local_id)
  );
  CREATE INDEX relabel_by_allocation ON relabel (host, allocation_local_id, at);
  CREATE INDEX relabel_by_path ON relabel (path, at);

  CREATE TABLE event (
    id     bigserial,
    host   text NOT NULL,
    time   timestamptz NOT NULL,
    serial bigint NOT NULL,
    types  text NOT NULL,
    raw    text NOT NULL,
    PRIMARY KEY (host, time, serial)
  ) PARTITION BY RANGE (time);

  CREATE TABLE denial (
    id              bigserial,
    host            text NOT NULL,
    local_id        bigint NOT NULL,
    event_id        bigint,
    time            timestamptz NOT NULL,
    serial          bigint NOT NULL,
    model           text NOT NULL,
    record_type     text NOT NULL,
    granted         smallint NOT NULL,
    permissive      smallint NOT NULL,
    perms           text NOT NULL,
    tclass          text,
    scontext        text,
    stype           text,
    scategories     text,
    spid            integer,
    scomm           text,
    sexe            text,
    tcontext        text,
    ttype           text,
    tcategories     text,
    tpath           text,
    tname           text,
    tdev            text,
    tinode          bigint,
    aa_profile      text,
    aa_child        text,
    aa_operation    text,
    aa_requested    text,
    aa_denied       text,
    aa_fsuid        bigint,
    aa_ouid         bigint,
    aa_info         text,
    aa_error        text,
    syscall         integer,
    syscall_success smallint,
    syscall_exit    bigint,
    auid            bigint,
    uid             bigint,
    proctitle       text,
    PRIMARY KEY (host, time, local_id)
  ) PARTITION BY RANGE (time);
  CREATE INDEX denial_by_time ON denial (time, id);
  CREATE INDEX denial_by_id ON denial (id);
  CREATE INDEX denial_by_source ON denial (host, scategories, time);
  CREATE INDEX denial_by_target ON denial (host, tcategories, time);
  CREATE INDEX denial_by_profile ON denial (host, aa_profile, time) WHERE aa_profile IS NOT NULL;

  CREATE TABLE mac_status (
    host      text NOT NULL REFERENCES fleet_host (name),
    time      timestamptz NOT NULL,
    enforcing smallint,
    PRIMARY KEY (host, time)
  );

  -- Where each host's shipping stands, written in the transaction of the rows it covers.
  CREATE TABLE ship_position (
    host           text PRIMARY KEY REFERENCES fleet_host (name),
    allocation_seq bigint NOT NULL,
    relabel_id     bigint NOT NULL,
    event_id       bigint NOT NULL,
    denial_id      bigint NOT NULL,
    mac_status_id  bigint NOT NULL,
    newest_time    timestamptz,
    shipped_at     timestamptz NOT NULL
  );

  -- Rows the engine refused (an allocation breaking one_holder_per_label): kept, said, never retried forever.
  CREATE TABLE ship_refusal (
    host     text NOT NULL REFERENCES fleet_host (name),
    stream   text NOT NULL,
    local_id bigint NOT NULL,
    reason   text NOT NULL,
    at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (host, stream, local_id)
  );

  -- Monthly partitions (UTC) for the month of t and the next, created by their owner on a
  -- host's behalf. Bounded to 2000 … next month so a host cannot make partitions without end.
  CREATE FUNCTION fleet_ensure_partitions(t timestamptz) RETURNS void LANGUAGE plpgsql SECURITY DEFINER
    SET search_path = public, pg_temp AS $$
  DECLARE
    month timestamptz;
    tab text;
    part text;
  BEGIN
    IF t < timestamptz '2000-01-01 00:00Z' OR t > now() + interval '32 days' THEN
      RAISE EXCEPTION 'time % is outside 2000 … next month', t USING ERRCODE = '22008';
    END IF;
    -- Most calls find both months there: no lock then, so hosts never queue behind each other.
    month := date_trunc('month', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    IF to_regclass('denial_p' || to_char(month AT TIME ZONE 'UTC', 'YYYY_MM')) IS NOT NULL
       AND to_regclass('denial_p' || to_char((month AT TIME ZONE 'UTC') + interval '1 month', 'YYYY_MM')) IS NOT NULL THEN
      RETURN;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('svirt-audit partitions'));
    FOR i IN 0..1 LOOP
      month := (date_trunc('month', t AT TIME ZONE 'UTC') + make_interval(months => i)) AT TIME ZONE 'UTC';
      FOREACH tab IN ARRAY ARRAY['event', 'denial'] LOOP
        part := tab || '_p' || to_char(month AT TIME ZONE 'UTC', 'YYYY_MM');
        IF to_regclass(part) IS NULL THEN
          EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
            part, tab, month, month + interval '1 month');
        END IF;
      END LOOP;
    END LOOP;
  END $$;

  DO $$ BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'svirt_audit_host') THEN CREATE ROLE svirt_audit_host NOLOGIN; END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'svirt_audit_reader') THEN CREATE ROLE svirt_audit_reader NOLOGIN; END IF;
  END $$;

  REVOKE ALL ON FUNCTION fleet_ensure_partitions(timestamptz) FROM PUBLIC;
  GRANT EXECUTE ON FUNCTION fleet_ensure_partitions(timestamptz) TO svirt_audit_host;
  GRANT SELECT ON fleet_host TO svirt_audit_host, svirt_audit_reader;
  GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO svirt_audit_host;

  -- Readers see every host; a host sees, inserts and updates only its own rows, and deletes nothing.
  ${['allocation', 'allocation_disk', 'relabel', 'event', 'denial', 'mac_status', 'ship_position', 'ship_refusal']
    .map(
      (t) => `
  ALTER TABLE ${t} ENABLE ROW LEVEL SECURITY;
  CREATE POLICY ${t}_readers ON ${t} FOR SELECT TO svirt_audit_reader USING (true);
  CREATE POLICY ${t}_host_reads ON ${t} FOR SELECT TO svirt_audit_host USING (host = fleet_current_host());
  CREATE POLICY ${t}_host_inserts ON ${t} FOR INSERT TO svirt_audit_host WITH CHECK (host = fleet_current_host());
  GRANT SELECT ON ${t} TO svirt_audit_reader;
  GRANT SELECT, INSERT ON ${t} TO svirt_audit_host;`,
    )
    .join('\n')}
  ${['allocation', 'ship_position']
    .map(
      (t) => `
  CREATE POLICY ${t}_host_updates ON ${t} FOR UPDATE TO svirt_audit_host
    USING (host = fleet_current_host()) WITH CHECK (host = fleet_current_host());
  GRANT UPDATE ON ${t} TO svirt_audit_host;`,
    )
    .join('\n')}
  -- A definition's disks are replaced whole when the host ships the allocation again.
  CREATE POLICY allocation_disk_host_deletes ON allocation_disk FOR DELETE TO svirt_audit_host
    USING (host = fleet_current_host());
  GRANT DELETE ON allocation_disk TO svirt_audit_host;
`;
