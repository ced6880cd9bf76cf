import ArgumentParser

/// The `soot` command: one executable, subcommands for serving and operating Soot.
struct Soot: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soot",
        abstract: "Soot: a self-hosted carbon dashboard for compute jobs.",
        discussion: """
            Soot collects the energy use and emissions of compute jobs (from the codecarbon client or any agent), \
            stores them in PostgreSQL and serves dashboards and CSV reports.

            With no DATABASE_URL, Soot runs its own private PostgreSQL cluster in its data folder \
            (SOOT_DATA_DIR; default ~/.local/share/soot, or /var/lib/soot as root).
            """,
        subcommands: [Serve.self, Migrate.self, BootstrapCommand.self, UserCommand.self, TokenCommand.self, DemoCommand.self, ImportCommand.self, AuditCommand.self],
        defaultSubcommand: nil
    )
}

Soot.main()
