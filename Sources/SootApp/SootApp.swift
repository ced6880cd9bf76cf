public enum SootApp {}
