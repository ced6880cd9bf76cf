import Foundation
import Postgres

/// "Within the range" in SQL, spelled once for each kind of range and column, so every query counts the same days.

extension DashboardRange {
    /// The first instant of the range: midnight UTC starting its first day (NULL for no lower bound).
    package var lowerBound: SQLQuery { "\(from)::date::timestamp AT TIME ZONE 'UTC'" }
    /// The first instant after the range: midnight UTC ending its last day (NULL for no upper bound).
    package var upperBound: SQLQuery { "(\(to)::date + 1)::timestamp AT TIME ZONE 'UTC'" }

    /// A timestamptz column within the range's UTC days (the last day included).
    package func contains(_ column: SQLQuery) -> SQLQuery {
        "(\(from)::date IS NULL OR \(column) >= \(lowerBound)) AND (\(to)::date IS NULL OR \(column) < \(upperBound))"
    }

    /// A date column (a rollup's `day`) within the range's days.
    package func containsDay(_ column: SQLQuery) -> SQLQuery {
        "(\(from)::date IS NULL OR \(column) >= \(from)::date) AND (\(to)::date IS NULL OR \(column) <= \(to)::date)"
    }
}

extension DateRange {
    /// A timestamptz column within [from, to).
    package func contains(_ column: SQLQuery) -> SQLQuery {
        "(\(from)::timestamptz IS NULL OR \(column) >= \(from)) AND (\(to)::timestamptz IS NULL OR \(column) < \(to))"
    }

    /// A date column (a rollup's `day`) on the UTC days the range touches.
    package func containsDay(_ column: SQLQuery) -> SQLQuery {
        """
        (\(from)::timestamptz IS NULL OR \(column) >= (\(from)::timestamptz AT TIME ZONE 'UTC')::date) \
        AND (\(to)::timestamptz IS NULL OR \(column) <= (\(to)::timestamptz AT TIME ZONE 'UTC')::date)
        """
    }
}
