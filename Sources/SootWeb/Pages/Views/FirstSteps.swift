import SootStore

/// The next step for someone with no data yet: make a project token and point `codecarbon` at Soot. Shown on the
/// home page and on an organization's page until its first run arrives.
enum FirstSteps {
    static func card(base: String) -> HTML {
        """
        <section class="card first-steps" aria-labelledby="first-steps"><h2 id="first-steps">Send your first run</h2>
        <ol><li>Create an organization, a team in it and a project in the team (or all at once with <code>soot bootstrap</code>).</li>
        <li>On the project's page, under <strong>Send data to this project</strong>, create an ingest token: it comes with a \
        ready <code>.codecarbon.config</code>.</li>
        <li>On the machine that runs the job, install CodeCarbon and point it at Soot:
        <pre class="copy"><code>pip install codecarbon
        export CODECARBON_API_ENDPOINT=\(base)
        export CODECARBON_API_KEY=soot_prj_…        # the project token
        export CODECARBON_EXPERIMENT_ID=&lt;experiment id&gt;
        codecarbon monitor                          # or EmissionsTracker(save_to_api=True) in your code</code></pre></li>
        <li>Runs appear as they report, every 15 seconds by default.</li></ol></section>
        """
    }
}
