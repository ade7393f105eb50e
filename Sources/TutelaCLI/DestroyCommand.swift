import ArgumentParser
import Foundation
import Tutela
import TutelaSQLite

struct DestroyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "destroy",
        abstract:
            "Propose, or agree to, crypto-shredding a record that is due: the first record keeper proposes, a second keeper or a head of centre agrees; prints the certificate."
    )
    @Argument(help: "The record id.") var record: String?
    @Flag(help: "Destroy every record due today, with progress.") var due = false
    @Flag(help: "With --due: list what this run would propose or destroy, and change nothing.")
    var dryRun = false
    @Flag(help: "With --due: go ahead without asking (scripts; check with --dry-run first).")
    var yes = false
    @OptionGroup var actor: ActorOptions
    @OptionGroup var vault: VaultOptions
    @OptionGroup var output: OutputOptions

    func validate() throws {
        guard (record != nil) != due else {
            throw ValidationError("give a RECORD, or --due for every record due today")
        }
        guard due || (!dryRun && !yes) else {
            throw ValidationError("--dry-run and --yes go with --due")
        }
    }

    /// One due record as `--dry-run` shows it.
    struct PlannedJSON: Encodable {
        let record: String
        let label: String
        let learner: String
        let dueOn: String?
        /// `propose`, `destroy` (agreeing to another keeper's proposal), `waiting` (this
        /// person's own proposal, for a second person to agree to) or `refused`.
        let action: String
        let proposedBy: String?
        /// With `refused`: why this person's run would refuse it (a hold, an open break-glass
        /// request, the policy).
        let refusal: String?
    }

    func run() async throws {
        let record = try self.record.map { text throws(TutelaError) in try RecordID(text) }
        let session = try await actor.unlock(try await vault.open())
        var ids: [RecordID]
        var waitingOn: [PlannedJSON] = []
        var refusedOn: [PlannedJSON] = []
        if let record {
            ids = [record]
        } else {
            // Only the records due are kept from the check, soonest due first.
            let today = session.vault.clock.today
            let due = try await session.retention.report(asOf: today, listing: [.due])
                .records(.due)
            guard !due.isEmpty else {
                if output.json, dryRun {
                    try Terminal.json(DryRunJSON(dryRun: true, due: []))
                } else if output.json {
                    try Terminal.json(DueJSON(destroyed: [], waiting: [], refused: []))
                } else {
                    Terminal.out("No records are due for destruction today (\(today)).")
                }
                return
            }
            let planned = try await plan(due, session: session)
            if dryRun { return try show(planned, due: due) }
            // This person's own proposals wait for a second person, and what the policy refuses
            // (a hold, an open break-glass request) stays: this run acts on the rest only.
            waitingOn = planned.filter { $0.step == .waiting }.map(\.json)
            refusedOn = planned.filter(\.refused).map(\.json)
            ids = planned.filter(\.acts).map(\.status.label.record)
            guard !ids.isEmpty else {
                if output.json {
                    return try Terminal.json(
                        DueJSON(destroyed: [], waiting: waitingOn.map(\.record), refused: refusedOn)
                    )
                }
                return Terminal.out("Nothing to do now: \(Self.counts(planned)).")
            }
            // What was confirmed is what is done: a proposal, hold or request made while the
            // person was asked changes the plan, and then nothing is done.
            let asked = try confirm(planned, due: due)
            let now = asked ? try await plan(due, session: session) : planned
            guard now.map(\.step) == planned.map(\.step) else {
                throw TutelaError(
                    .tryAgain,
                    "the due records changed while you were asked (a proposal, hold or request); "
                        + "nothing was proposed or destroyed",
                    hint: "run it again to see them as they are now")
            }
        }
        let progress = Progress(
            total: ids.count, enabled: Terminal.stderrIsTerminal && !output.json && due)
        var results: [DestructionJSON] = []
        for (i, id) in ids.enumerated() {
            switch try await session.retention.destroy(id) {
            case .destroyed(let certificate):
                try session.retention.verify(certificate)
                results.append(DestructionJSON(record: id, .destroyed(certificate)))
                if !output.json { Terminal.out(certificate.text) }
            case .proposed(let by):
                results.append(DestructionJSON(record: id, .proposed(by: by)))
                if !output.json {
                    Terminal.out(
                        "Proposed the destruction of \(id); it is destroyed when a second record "
                            + "keeper runs the same command, or a head of centre runs "
                            + "'tutela records destroy \(id)'.")
                }
            }
            progress.update(i + 1)
        }
        progress.finish()
        if output.json {
            if let only = results.first, record != nil {
                try Terminal.json(only)
            } else {
                try Terminal.json(
                    DueJSON(
                        destroyed: results, waiting: waitingOn.map(\.record), refused: refusedOn))
            }
        } else if due {
            let done = results.filter { $0.certificate != nil }.count
            Terminal.out(
                "\(done) records destroyed; \(results.count - done) proposed, waiting for a second "
                    + "person to agree"
                    + (waitingOn.isEmpty
                        ? "" : "; \(waitingOn.count) you proposed before still wait for one")
                    + (refusedOn.isEmpty
                        ? "." : "; \(refusedOn.count) refused (see them with --dry-run)."))
        }
    }
}

extension DestroyCommand {
    /// One due record and what this person's run of ``Retention/destroy(_:)`` would do to it.
    struct Planned {
        let status: RetentionStatus
        let step: Retention.DestructionStep
        /// Who runs it (whose own proposals are `waiting`).
        let me: PrincipalID
        /// Whether this run acts on it: proposes or destroys it.
        var acts: Bool {
            switch step {
            case .propose, .agree: true
            case .waiting, .refused: false
            }
        }
        var refused: Bool { if case .refused = step { true } else { false } }

        var json: PlannedJSON {
            let (action, by, refusal): (String, String?, String?) =
                switch step {
                case .propose: ("propose", nil, nil)
                case .agree(let by): ("destroy", by.text, nil)
                case .waiting: ("waiting", me.text, nil)
                case .refused(let why): ("refused", nil, why)
                }
            return PlannedJSON(
                record: status.label.record.text, label: status.label.envelopeText,
                learner: status.label.learner.text, dueOn: status.dueOn?.description,
                action: action, proposedBy: by, refusal: refusal)
        }
    }

    /// What this run would do to each due record (``Retention/step(for:)``). Changes nothing.
    func plan(_ due: [RetentionStatus], session: Session) async throws -> [Planned] {
        var planned: [Planned] = []
        for status in due {
            let step = try await session.retention.step(for: status)
            planned.append(Planned(status: status, step: step, me: session.principal.id))
        }
        return planned
    }

    /// `--dry-run`: the plan, record by record.
    func show(_ planned: [Planned], due: [RetentionStatus]) throws {
        if output.json {
            return try Terminal.json(DryRunJSON(dryRun: true, due: planned.map(\.json)))
        }
        for p in planned.map(\.json) {
            let what =
                switch p.action {
                case "propose": "would be proposed (a second person must then agree)"
                case "destroy": "would be destroyed (proposed by \(p.proposedBy ?? "?"))"
                case "waiting": "proposed by you; a second record keeper must agree"
                default: "would be refused: \(p.refusal ?? "")"
                }
            Terminal.out(
                "\(p.record)  \(p.label), learner \(p.learner), due \(p.dueOn ?? "?"): \(what)")
        }
        Terminal.out(
            "\(Self.summary(due)) are due: \(Self.counts(planned)). Nothing was changed "
                + "(--dry-run); run it again without --dry-run to go ahead.")
    }

    /// "1 to destroy now, 2 to propose, 1 waiting for a second person, 0 refused".
    static func counts(_ planned: [Planned]) -> String {
        let destroy = planned.filter { $0.acts && $0.step != .propose }.count
        let propose = planned.filter { $0.step == .propose }.count
        let waiting = planned.filter { $0.step == .waiting }.count
        return "\(destroy) to destroy now, \(propose) to propose, "
            + "\(waiting) waiting for a second person, \(planned.filter(\.refused).count) refused"
    }

    /// "3 records of 2 learners (kim, lee)".
    static func summary(_ due: [RetentionStatus]) -> String {
        let learners = Array(Set(due.map(\.label.learner.text))).sorted()
        let records = due.count == 1 ? "1 record" : "\(due.count) records"
        let of = learners.count == 1 ? "1 learner" : "\(learners.count) learners"
        return "\(records) of \(of) (\(learners.joined(separator: ", ")))"
    }

    /// Asks before acting on the due records, unless `--yes`: the person types the number this
    /// run acts on (destroys or proposes). Without a terminal to ask on, or with `--json`,
    /// refuses (64). Returns whether a person was asked (and so time passed).
    func confirm(_ planned: [Planned], due: [RetentionStatus]) throws -> Bool {
        guard !yes else { return false }
        guard Terminal.stdinIsTerminal, !output.json else {
            throw TutelaError(
                .usage,
                "destroying every due record needs a confirmation: \(Self.summary(due)) are due "
                    + "(\(Self.counts(planned)))",
                hint: "see them with --dry-run, then run it again with --yes")
        }
        let acting = planned.filter(\.acts).count
        Terminal.note(
            "\(Self.summary(due)) are due: \(Self.counts(planned)). Destroyed records cannot be "
                + "opened again, from this vault or its backups.")
        Terminal.note("Type \(acting) to go on, anything else to stop: ")
        guard readLine()?.trimmingCharacters(in: .whitespaces) == "\(acting)" else {
            throw TutelaError(.usage, "stopped: nothing was proposed or destroyed")
        }
        return true
    }

    /// The result of a `--due` run: what it destroyed or proposed, which of this person's own
    /// proposals it left waiting for a second person, and what it left because it is refused.
    struct DueJSON: Encodable {
        let destroyed: [DestructionJSON]
        let waiting: [String]
        let refused: [PlannedJSON]
    }

    struct DryRunJSON: Encodable {
        let dryRun: Bool
        let due: [PlannedJSON]
    }
}
