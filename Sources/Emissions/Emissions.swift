public enum Emissions {}
