/// A level of the hierarchy: organization → team → project → experiment → run.
public enum Level: String, CaseIterable, Sendable {
    case organization, team, project, experiment, run

    /// "Organization", for titles.
    public var title: String { rawValue.prefix(1).uppercased() + rawValue.dropFirst() }

    /// The level below, whose items a page of this level lists; nil for a run.
    public var child: Level? {
        switch self {
        case .organization: .team
        case .team: .project
        case .project: .experiment
        case .experiment: .run
        case .run: nil
        }
    }

    /// "Teams", for the heading of a list of this level's items.
    public var pluralTitle: String { title + "s" }
}
