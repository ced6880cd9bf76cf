public enum Postgres {}
