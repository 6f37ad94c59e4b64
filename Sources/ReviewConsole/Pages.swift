import Mustache

/// The console's pages: Mustache templates (HTML-escaped by default), one layout, no script.
/// Kept in the binary so an installed console needs no template directory.
package struct Pages: Sendable {
    private let library: MustacheLibrary

    package init() {
        var templates: [String: MustacheTemplate] = [:]
        for (name, text) in Self.sources {
            // The templates are ours and fixed: a parse error is a programming error.
            templates[name] = try! MustacheTemplate(string: text)
        }
        library = MustacheLibrary(templates: templates)
    }

    /// `template` rendered with `values`, inside the layout.
    package func render(_ template: String, title: String, user: String?, csrf: String?, _ values: [String: Any]) -> String {
        let content = library.render(values, withTemplate: template) ?? ""
        var layout: [String: Any] = ["title": title, "content": content]
        if let user { layout["signedIn"] = ["user": user, "csrf": csrf ?? ""] }
        return library.render(layout, withTemplate: "layout") ?? ""
    }

    static let sources: [String: String] = [
        "layout": """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{{title}} · misdirect-milter</title>
            <link rel="stylesheet" href="/static/console.css">
            </head>
            <body>
            <header>
            <a class="brand" href="/held">misdirect-milter <span>review console</span></a>
            {{#signedIn}}
            <nav><a href="/held">Held mail</a> <a href="/decisions">Decisions</a> <a href="/report">Report</a></nav>
            <form class="sign-out" method="post" action="/logout">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <span class="user">{{user}}</span> <button id="sign-out" type="submit">Sign out</button>
            </form>
            {{/signedIn}}
            </header>
            <main>
            {{{content}}}
            </main>
            </body>
            </html>

            """,
        "login": """
            <h1>Sign in</h1>
            {{#error}}<p id="error" class="error">{{error}}</p>{{/error}}
            <form id="login" method="post" action="/login">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <label>Name <input name="user" autocomplete="username" required autofocus></label>
            <label>Password <input name="password" type="password" autocomplete="current-password" required></label>
            <button id="sign-in" type="submit">Sign in</button>
            </form>
            """,
        "held": """
            <h1>Held for review</h1>
            <p class="lead">Messages misdirect-milter put in Postfix's hold queue: the sender was told they were accepted; \
            nothing is delivered until someone releases them.</p>
            {{#hasMessages}}<p id="count">{{count}} held{{#paging}}, newest first: {{first}} to {{last}} (page {{page}} of {{pages}}){{/paging}}</p>{{/hasMessages}}
            {{#hasMessages}}
            <table id="held">
            <thead><tr><th>Held</th><th>Sender</th><th>Recipients</th><th>Level</th><th>Suspected look-alike</th><th>Why</th><th></th></tr></thead>
            <tbody>
            {{/hasMessages}}
            {{#messages}}
            <tr class="held-message level-{{level}}" data-queue-id="{{queueID}}">
            <td class="age" title="{{arrival}}">{{age}}</td>
            <td class="sender">{{sender}}</td>
            <td class="recipients">{{recipients}}</td>
            <td class="level"><span class="badge">{{level}}</span></td>
            <td class="suspected">{{suspected}}</td>
            <td class="reasons">{{#reasons}}<div>{{.}}</div>{{/reasons}}</td>
            <td><a class="details" href="/held/{{queueID}}">Review</a></td>
            </tr>
            {{/messages}}
            {{#hasMessages}}
            </tbody>
            </table>
            {{/hasMessages}}
            {{#paging}}<nav id="pages">{{#previous}}<a rel="prev" href="/held?page={{previous}}">Newer</a>{{/previous}} \
            {{#next}}<a rel="next" href="/held?page={{next}}">Older</a>{{/next}}</nav>{{/paging}}
            {{^messages}}<p id="empty">No message is held.</p>{{/messages}}
            """,
        "message": """
            <h1>Held message {{queueID}}</h1>
            <dl id="verdict">
            <dt>Held</dt><dd>{{arrival}} ({{age}} ago)</dd>
            <dt>Sender</dt><dd>{{sender}}</dd>
            <dt>Recipients</dt><dd>{{recipients}}</dd>
            <dt>Level</dt><dd><span class="badge level-{{level}}">{{level}}</span></dd>
            <dt>Suspected</dt><dd>{{suspected}}</dd>
            <dt>Why</dt><dd>{{#reasons}}<div>{{.}}</div>{{/reasons}}</dd>
            </dl>
            <div class="actions">
            <form id="release-form" method="post" action="/held/{{queueID}}/release">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <button id="release" class="release" type="submit">Release: deliver it</button>
            </form>
            <form id="drop-form" method="post" action="/held/{{queueID}}/drop">
            <input type="hidden" name="csrf" value="{{csrf}}">
            <button id="drop" class="drop" type="submit">Drop: delete it</button>
            </form>
            </div>
            <h2>Headers</h2>
            <pre id="headers">{{#headers}}{{name}}: {{value}}
            {{/headers}}</pre>
            <h2>Start of the body</h2>
            <pre id="body">{{body}}</pre>
            <h2>Attachments</h2>
            <ul id="attachments">{{#attachments}}<li>{{name}} <span class="size">{{size}}</span></li>{{/attachments}}{{^attachments}}<li class="none">none</li>{{/attachments}}</ul>
            """,
        "decisions": """
            <h1>Decisions</h1>
            <p class="lead">Every recipient misdirect-milter did not pass as clean: flagged, tagged, held, refused, delivered on \
            the sender's word, and in log-only mode what enforce would have done. Newest first.</p>
            <form id="search" class="filters" method="get" action="/decisions">
            <label>Recipient domain <input name="domain" value="{{domain}}" placeholder="army.ml"></label>
            <label>Sender <input name="sender" value="{{sender}}" placeholder="user@example.org"></label>
            <label>Rule <input name="rule" value="{{rule}}" placeholder="tld-swap"></label>
            <label>Level <select name="level"><option value="">any</option>{{#levels}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/levels}}</select></label>
            <label>Outcome <select name="outcome"><option value="">any</option>{{#outcomes}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/outcomes}}</select></label>
            <label>Day <input name="day" type="date" value="{{day}}"></label>
            <button id="filter" type="submit">Search</button>
            </form>
            {{#error}}<p id="error" class="error">{{error}}</p>{{/error}}
            {{#hasDecisions}}
            <table id="decisions">
            <thead><tr><th>When (UTC)</th><th>Sender</th><th>Recipient</th><th>Level</th><th>Outcome</th><th>Rules</th><th>Why</th></tr></thead>
            <tbody>
            {{/hasDecisions}}
            {{#decisions}}
            <tr class="decision level-{{level}}" data-id="{{id}}">
            <td class="time">{{time}}<div class="size">{{queueID}}</div></td>
            <td class="sender">{{sender}}</td>
            <td class="recipient">{{recipient}}{{#isReplyTo}} <span class="size">({{role}})</span>{{/isReplyTo}}</td>
            <td class="level"><span class="badge">{{level}}</span></td>
            <td class="outcome">{{outcome}}<div class="size">policy: {{action}}</div></td>
            <td class="rules">{{rules}}</td>
            <td class="why">{{explanation}}{{#suspected}}<div class="size">looks like {{suspected}}</div>{{/suspected}}</td>
            </tr>
            {{/decisions}}
            {{#hasDecisions}}
            </tbody>
            </table>
            {{/hasDecisions}}
            {{^hasDecisions}}{{^error}}<p id="empty">No decision matches.</p>{{/error}}{{/hasDecisions}}
            {{#older}}<nav id="pages"><a rel="next" href="{{older}}">Older</a></nav>{{/older}}
            """,
        "report": """
            <h1>Report: the last {{days}} days</h1>
            <nav id="spans">{{#spans}}{{#current}}<strong>{{days}} days</strong>{{/current}}{{^current}}<a href="/report?days={{days}}">{{days}} days</a>{{/current}} {{/spans}}</nav>
            {{#error}}<p id="error" class="error">{{error}}</p>{{/error}}
            {{{report}}}
            """,
        "result": """
            <h1>{{heading}}</h1>
            <p id="result" class="{{outcome}}">{{text}}</p>
            {{#back}}<p><a href="/held">Back to the held mail</a></p>{{/back}}
            """,
        "confirm": """
            <h1>{{heading}}</h1>
            <p id="what">{{what}}</p>
            <dl id="verdict">
            <dt>Sender</dt><dd>{{sender}}</dd>
            <dt>Recipients</dt><dd>{{recipients}}</dd>
            <dt>Why it was held</dt><dd>{{#reasons}}<div>{{.}}</div>{{/reasons}}</dd>
            </dl>
            <form id="confirm-form" method="post" action="/link">
            <input type="hidden" name="t" value="{{token}}">
            <button id="confirm" class="{{action}}" type="submit">{{button}}</button>
            </form>
            <p class="note">Nothing happens until you press the button. The link works once.</p>
            """,
        "refused": """
            <h1>{{heading}}</h1>
            <p id="refused" class="error">{{reason}}</p>
            """,
    ]

    /// The stylesheet: readable without it, plain with it.
    package static let stylesheet = """
        :root { --ink: #1d2430; --muted: #5b6576; --line: #d9dee7; --accent: #1f5fbf; --high: #b3261e; --medium: #b26a00; --low: #5b6576; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.45 system-ui, sans-serif; color: var(--ink); background: #f6f7f9; }
        header { display: flex; align-items: center; gap: 1.5rem; padding: .7rem 1.5rem; background: #1d2430; color: #fff; }
        header a { color: #fff; text-decoration: none; }
        .brand { font-weight: 600; } .brand span { font-weight: 400; opacity: .7; }
        .sign-out { margin-left: auto; } .sign-out .user { opacity: .8; margin-right: .5rem; }
        main { max-width: 72rem; margin: 1.5rem auto; padding: 0 1.5rem; }
        h1 { font-size: 1.5rem; margin: 0 0 .5rem; } h2 { font-size: 1.1rem; margin-top: 1.8rem; }
        .lead, .note { color: var(--muted); }
        table { width: 100%; border-collapse: collapse; background: #fff; border: 1px solid var(--line); }
        th, td { text-align: left; padding: .5rem .6rem; border-bottom: 1px solid var(--line); vertical-align: top; }
        th { font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
        .badge { display: inline-block; padding: .05rem .5rem; border-radius: 1rem; background: var(--low); color: #fff; font-size: .8rem; }
        .level-high .badge, .badge.level-high { background: var(--high); } .level-medium .badge, .badge.level-medium { background: var(--medium); }
        dl { display: grid; grid-template-columns: 10rem 1fr; gap: .3rem 1rem; background: #fff; border: 1px solid var(--line); padding: 1rem; }
        dt { color: var(--muted); } dd { margin: 0; }
        pre { background: #fff; border: 1px solid var(--line); padding: .8rem; overflow-x: auto; white-space: pre-wrap; word-break: break-all; }
        .actions { display: flex; gap: 1rem; margin: 1rem 0; }
        button { font: inherit; padding: .45rem 1rem; border-radius: .3rem; border: 1px solid var(--line); background: #fff; cursor: pointer; }
        button.release { background: var(--accent); color: #fff; border-color: var(--accent); }
        button.drop { background: var(--high); color: #fff; border-color: var(--high); }
        header button { background: transparent; color: #fff; border-color: #5b6576; padding: .2rem .7rem; }
        form#login { display: grid; gap: .8rem; max-width: 22rem; background: #fff; border: 1px solid var(--line); padding: 1.2rem; }
        form#login label { display: grid; gap: .2rem; } input { font: inherit; padding: .4rem; }
        .error { color: var(--high); font-weight: 600; } .done { color: #1b7a3a; font-weight: 600; }
        .size { color: var(--muted); font-size: .85rem; }
        header nav a { margin-right: 1rem; }
        .filters { display: flex; flex-wrap: wrap; gap: .6rem 1rem; align-items: end; background: #fff; border: 1px solid var(--line); padding: .8rem; margin-bottom: 1rem; }
        .filters label { display: grid; gap: .2rem; font-size: .85rem; color: var(--muted); } select { font: inherit; padding: .35rem; }
        .chart { display: block; background: #fff; border: 1px solid var(--line); margin: .5rem 0; }
        .legend { list-style: none; display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; padding: 0; margin: .3rem 0 1rem; font-size: .9rem; }
        #spans { margin-bottom: 1rem; } #spans a, #spans strong { margin-right: .8rem; }
        """
}
