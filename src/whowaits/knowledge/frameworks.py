"""Which code is an entry point, and who waits on it: frameworks and schedulers as data.

Every pattern is a glob over a resolved value path (`*` matches anything, dots included), the
same notation call targets use: `@app.post(...)` on `app = FastAPI()` is `fastapi.FastAPI().post`.
Adding a framework is adding rows here; `whowaits.facts.entrypoints` and `whowaits.contexts`
only interpret these tables.
"""

from __future__ import annotations

from typing import Dict, FrozenSet, Tuple

from whowaits.core import ContextKind

# Context kinds and whether someone waits on them (SPEC section 3). `declared` has no row: a
# pragma or the configuration says whether someone waits.
BLOCKING_KINDS: Dict[ContextKind, bool] = {
    ContextKind.HTTP_HANDLER: True,
    ContextKind.BOT_HANDLER: True,
    ContextKind.INTERACTIVE_UI: True,
    ContextKind.INTERACTIVE_CLI: True,
    ContextKind.CI_PREMERGE: True,
    ContextKind.CI_COMMENT: True,
    ContextKind.TOOL_LOOP: True,
    ContextKind.AGENT_TOOL: True,
    ContextKind.SCHEDULED: False,
    ContextKind.BACKGROUND: False,
    ContextKind.OFFLINE_SCRIPT: False,
    ContextKind.CI_MANUAL: False,
    ContextKind.CI_EVENT: False,
}

# Slack Bolt apps and assistants (`from slack_bolt import App`, `slack_bolt.async_app.AsyncApp`).
_SLACK_APPS = "slack_bolt.{,app.,async_app.,app.async_app.}{App,AsyncApp}()"
_SLACK_LISTENERS = (
    "{event,message,command,action,shortcut,global_shortcut,message_shortcut,view,view_submission,"
    "view_closed,options,block_action,block_suggestion,function,attachment_action,dialog_submission}"
)
_SLACK_ASSISTANTS = "slack_bolt.*{Assistant,AsyncAssistant}()"
_SLACK_ASSISTANT_EVENTS = "{thread_started,user_message,bot_message,thread_context_changed}"
# MCP servers: every tool, prompt and resource answers an agent that is waiting for it.
_MCP_SERVERS = "{mcp.server.fastmcp,fastmcp,fastmcp.server}.FastMCP()"
_MCP_LOWLEVEL = "mcp.server{,.lowlevel}.Server()"
# Desktop GUI toolkits: a callback runs while the person looks at the window.
_QT = "{PyQt5,PyQt6,PySide2,PySide6}"

_HTTP_VERBS = "{route,get,post,put,patch,delete,head,options,api_route,websocket,view,add_route}"

# Decorators: (glob over the decorator's value path, context kind, what to call it).
# `{a,b}` alternatives are expanded when the table is loaded.
DECORATORS: Tuple[Tuple[str, str, str], ...] = (
    # HTTP frameworks
    (f"flask.Flask().{_HTTP_VERBS}", "http_handler", "Flask route"),
    (f"flask.Blueprint().{_HTTP_VERBS}", "http_handler", "Flask blueprint route"),
    (f"quart.Quart().{_HTTP_VERBS}", "http_handler", "Quart route"),
    (f"quart.Blueprint().{_HTTP_VERBS}", "http_handler", "Quart blueprint route"),
    (f"fastapi.FastAPI().{_HTTP_VERBS}", "http_handler", "FastAPI route"),
    (f"fastapi.APIRouter().{_HTTP_VERBS}", "http_handler", "FastAPI router route"),
    (f"starlette.applications.Starlette().{_HTTP_VERBS}", "http_handler", "Starlette route"),
    (f"sanic.Sanic().{_HTTP_VERBS}", "http_handler", "Sanic route"),
    (f"sanic.Blueprint().{_HTTP_VERBS}", "http_handler", "Sanic blueprint route"),
    (f"bottle.{_HTTP_VERBS}", "http_handler", "Bottle route"),
    (f"bottle.Bottle().{_HTTP_VERBS}", "http_handler", "Bottle route"),
    ("litestar.{get,post,put,patch,delete,route,websocket}", "http_handler", "Litestar route"),
    # A browser waits on the answer its event gets (Socket.IO servers).
    ("flask_socketio.SocketIO().{on,event}", "http_handler", "Flask-SocketIO event"),
    ("socketio.{Server,AsyncServer}().{on,event}", "http_handler", "Socket.IO event"),
    ("chalice.Chalice().{route,lambda_function}", "http_handler", "Chalice route"),
    ("chalice.Chalice().schedule", "scheduled", "Chalice scheduled function"),
    ("chalice.Chalice().{on_sqs_message,on_s3_event,on_sns_message}", "background", "Chalice event handler"),
    (f"aiohttp.web.RouteTableDef().{_HTTP_VERBS}", "http_handler", "aiohttp route"),
    ("pyramid.view.view_config", "http_handler", "Pyramid view"),
    ("rest_framework.decorators.api_view", "http_handler", "DRF api_view"),
    ("rest_framework.decorators.action", "http_handler", "DRF viewset action"),
    ("django.views.decorators.http.require_*", "http_handler", "Django view"),
    ("functions_framework.http", "http_handler", "Cloud Function (HTTP)"),
    ("functions_framework.cloud_event", "background", "Cloud Function (event)"),
    ("azure.functions.{FunctionApp,Blueprint}().route", "http_handler", "Azure Function (HTTP)"),
    ("azure.functions.{FunctionApp,Blueprint}().{schedule,timer_trigger}", "scheduled", "Azure Function (timer)"),
    ("azure.functions.{FunctionApp,Blueprint}().{queue_trigger,service_bus_queue_trigger,service_bus_topic_trigger,blob_trigger,event_hub_message_trigger,event_grid_trigger,cosmos_db_trigger}", "background", "Azure Function (queue)"),
    ("strawberry.{field,mutation,subscription}", "http_handler", "GraphQL resolver"),
    ("modal.{web_endpoint,fastapi_endpoint,asgi_app,wsgi_app}", "http_handler", "Modal web endpoint"),
    # Bots
    (f"{_SLACK_APPS}.{_SLACK_LISTENERS}", "bot_handler", "Slack Bolt listener"),
    (f"{_SLACK_ASSISTANTS}.{_SLACK_ASSISTANT_EVENTS}", "bot_handler", "Slack Bolt Assistant handler"),
    ("discord.Client().event", "bot_handler", "discord.py event"),
    ("discord.Bot().{event,command,slash_command}", "bot_handler", "discord.py command"),
    ("discord.ext.commands.Bot().{event,command,listen,hybrid_command}", "bot_handler", "discord.py command"),
    ("discord.ext.commands.Bot().tree.command", "bot_handler", "discord.py app command"),
    ("discord.Client().tree.command", "bot_handler", "discord.py app command"),
    ("discord.app_commands.CommandTree().command", "bot_handler", "discord.py app command"),
    ("discord.ext.commands.{command,hybrid_command}", "bot_handler", "discord.py command"),
    ("discord.ext.commands.Cog.listener", "bot_handler", "discord.py listener"),
    ("discord.app_commands.command", "bot_handler", "discord.py app command"),
    ("discord.slash_command", "bot_handler", "discord.py slash command"),
    ("telebot.TeleBot().{message_handler,callback_query_handler,inline_handler}", "bot_handler", "Telegram bot handler"),
    ("telebot.async_telebot.AsyncTeleBot().{message_handler,callback_query_handler}", "bot_handler", "Telegram bot handler"),
    ("aiogram.{Router,Dispatcher}().{message,callback_query}", "bot_handler", "aiogram handler"),
    ("chainlit.{on_message,on_chat_start,action_callback}", "bot_handler", "Chainlit handler"),
    # Agents' tools
    (f"{_MCP_SERVERS}.{{tool,prompt,resource}}", "agent_tool", "MCP server tool"),
    (f"{_MCP_LOWLEVEL}.{{call_tool,get_prompt,read_resource}}", "agent_tool", "MCP server tool"),
    # Background workers and schedulers
    ("celery.Celery().task", "background", "Celery task"),
    ("celery.shared_task", "background", "Celery task"),
    ("celery.task", "background", "Celery task"),
    ("celery.decorators.periodic_task", "scheduled", "Celery periodic task"),
    ("dramatiq.actor", "background", "Dramatiq actor"),
    ("huey.*().task", "background", "Huey task"),
    ("huey.*().periodic_task", "scheduled", "Huey periodic task"),
    ("rq.decorators.job", "background", "RQ job"),
    ("apscheduler.*().scheduled_job", "scheduled", "APScheduler job"),
    ("airflow.decorators.task", "scheduled", "Airflow task"),
    ("airflow.decorators.task.*", "scheduled", "Airflow task"),
    ("airflow.decorators.dag", "scheduled", "Airflow DAG"),
    ("airflow.sdk.{task,dag}", "scheduled", "Airflow task"),
    ("prefect.{flow,task}", "scheduled", "Prefect flow"),
    # Command-line programs a person runs (offline unless a manifest or an input loop says more)
    ("click.{command,group}", "offline_script", "click command"),
    ("click.Group().{command,group}", "offline_script", "click command"),
    ("typer.Typer().{command,callback}", "offline_script", "typer command"),
    ("dagster.{op,asset,job,schedule,multi_asset}", "scheduled", "Dagster op"),
)

# Decorators that make a function scheduled only when a keyword is present (Modal's schedule=).
SCHEDULE_KEYWORD_DECORATORS: Tuple[Tuple[str, str, str], ...] = (
    ("modal.App().function", "schedule", "Modal scheduled function"),
    ("modal.Stub().function", "schedule", "Modal scheduled function"),
)

# Base classes whose methods are handlers: (glob over a base's value path, methods, kind, name).
HTTP_METHODS: FrozenSet[str] = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options",
     "list", "create", "retrieve", "update", "partial_update", "destroy"}
)
BASE_CLASSES: Tuple[Tuple[str, FrozenSet[str], str, str], ...] = (
    ("django.views.*", HTTP_METHODS | {"dispatch", "form_valid", "get_context_data", "get_queryset"}, "http_handler", "Django class-based view"),
    ("rest_framework.*", HTTP_METHODS | {"perform_create", "perform_update"}, "http_handler", "DRF view"),
    ("aiohttp.web.View", HTTP_METHODS, "http_handler", "aiohttp class-based view"),
    ("tornado.web.RequestHandler", HTTP_METHODS, "http_handler", "Tornado handler"),
    ("tornado.websocket.WebSocketHandler", frozenset({"open", "on_message"}), "http_handler", "Tornado websocket"),
    ("channels.generic.websocket.*", frozenset({"connect", "receive", "receive_json"}), "http_handler", "Channels consumer"),
    ("flask.views.{MethodView,View}", HTTP_METHODS | {"dispatch_request"}, "http_handler", "Flask class-based view"),
    ("starlette.endpoints.HTTPEndpoint", HTTP_METHODS, "http_handler", "Starlette endpoint"),
    ("*_pb2_grpc.*Servicer", frozenset({"*"}), "http_handler", "gRPC servicer"),
    ("graphene.ObjectType", frozenset({"resolve_*", "mutate"}), "http_handler", "GraphQL resolver"),
    ("graphene.Mutation", frozenset({"mutate"}), "http_handler", "GraphQL mutation"),
    ("discord.Client", frozenset({"on_message", "on_ready", "on_interaction", "on_reaction_add"}), "bot_handler", "discord.py client"),
    ("discord.ext.commands.Cog", frozenset({"cog_command_error"}), "bot_handler", "discord.py cog"),
    (f"{_QT}.QtCore.{{QThread,QRunnable}}", frozenset({"run"}), "interactive_ui", "Qt worker thread"),
    ("kivy.app.App", frozenset({"build", "on_start"}), "interactive_ui", "Kivy app"),
    ("unittest.TestCase", frozenset({"test*"}), "ci_premerge", "unittest test"),
    ("unittest.IsolatedAsyncioTestCase", frozenset({"test*"}), "ci_premerge", "unittest test"),
    ("django.test.*", frozenset({"test*"}), "ci_premerge", "Django test"),
)

# Calls that take a function: (glob over the callee's value path, position of the function
# argument (-1: keyword only), its keyword (`a,b`: each of these keywords present is one
# registration), and what it means: a context kind (an entry point),
# "" (a fan-out edge: once per item, in parallel), "call" (a plain call edge) or "submit"
# (run on another thread: fan-out when submitted per item), and a name).
REGISTRATIONS: Tuple[Tuple[str, int, str, str, str], ...] = (
    # Web routes registered by table
    ("django.urls.{path,re_path}", 1, "view", "http_handler", "Django URL route"),
    ("django.conf.urls.url", 1, "view", "http_handler", "Django URL route"),
    ("flask.Flask().add_url_rule", 2, "view_func", "http_handler", "Flask URL rule"),
    ("flask.Blueprint().add_url_rule", 2, "view_func", "http_handler", "Flask URL rule"),
    ("fastapi.{FastAPI,APIRouter}().add_api_route", 1, "endpoint", "http_handler", "FastAPI route"),
    ("fastapi.{FastAPI,APIRouter}().add_api_websocket_route", 1, "endpoint", "http_handler", "FastAPI websocket"),
    ("starlette.routing.{Route,WebSocketRoute}", 1, "endpoint", "http_handler", "Starlette route"),
    ("starlette.applications.Starlette().add_route", 1, "route", "http_handler", "Starlette route"),
    ("aiohttp.web.{get,post,put,patch,delete,route,view}", 1, "handler", "http_handler", "aiohttp route"),
    ("aiohttp.web.Application().router.add_{get,post,put,patch,delete,route,view}", 1, "handler", "http_handler", "aiohttp route"),
    ("litestar.Litestar", 0, "route_handlers", "http_handler", "Litestar route"),
    ("websockets.{serve,server.serve}", 0, "handler", "http_handler", "websocket handler"),
    ("falcon.App().add_route", 1, "resource", "http_handler", "Falcon resource"),
    ("falcon.asgi.App().add_route", 1, "resource", "http_handler", "Falcon resource"),
    # Bots
    ("telegram.ext.{CommandHandler,MessageHandler,CallbackQueryHandler,InlineQueryHandler,ConversationHandler}", 1, "callback", "bot_handler", "Telegram handler"),
    ("telegram.ext.CallbackQueryHandler", 0, "callback", "bot_handler", "Telegram handler"),
    ("telepot.{loop,aio.loop}.MessageLoop", 1, "handle", "bot_handler", "telepot handler"),
    # Bots registered by call: `app.event("app_mention")(handler)`, lazy listeners.
    (f"{_SLACK_APPS}.{_SLACK_LISTENERS}()", 0, "ack,lazy", "bot_handler", "Slack Bolt listener"),
    (f"{_SLACK_ASSISTANTS}.{_SLACK_ASSISTANT_EVENTS}", 0, "", "bot_handler", "Slack Bolt Assistant handler"),
    # Agents' tools registered by call
    (f"{_MCP_SERVERS}.{{tool,prompt,resource}}()", 0, "", "agent_tool", "MCP server tool"),
    (f"{_MCP_SERVERS}.add_tool", 0, "fn", "agent_tool", "MCP server tool"),
    # Desktop GUIs: widget commands, event bindings, signals, timers on the GUI loop.
    ("{tkinter,customtkinter}.*.{bind,bind_all,after}", 1, "func", "interactive_ui", "Tk event binding"),
    ("{tkinter,customtkinter}.*", -1, "command", "interactive_ui", "Tk widget command"),
    (f"{_QT}.*.connect", 0, "slot", "interactive_ui", "Qt signal"),
    (f"{_QT}.QtCore.QTimer.singleShot", 1, "", "interactive_ui", "Qt timer"),
    ("wx.*.Bind", 1, "handler", "interactive_ui", "wxPython event"),
    ("wx.CallAfter", 0, "", "interactive_ui", "wxPython event"),
    ("kivy.*.bind", -1, "on_press,on_release,on_text_validate,text,active", "interactive_ui", "Kivy event binding"),
    ("kivy.*", -1, "on_press,on_release,on_text_validate", "interactive_ui", "Kivy widget callback"),
    ("dearpygui.*", -1, "callback", "interactive_ui", "Dear PyGui callback"),
    ("{flet,nicegui}.*", -1, "on_click,on_submit,on_change", "interactive_ui", "UI event"),
    # Interactive UIs
    ("gradio.{ChatInterface,Interface}", 0, "fn", "interactive_ui", "Gradio callback"),
    ("gradio.*().{click,submit,change,input,select,upload,load,then}", 0, "fn", "interactive_ui", "Gradio event"),
    ("gradio.*.{click,submit,change,input,select,upload,load,then}", 0, "fn", "interactive_ui", "Gradio event"),
    ("streamlit.{button,form_submit_button,chat_input,text_input,selectbox}", -1, "on_click", "interactive_ui", "Streamlit callback"),
    # Background work
    ("fastapi.BackgroundTasks().add_task", 0, "func", "background", "FastAPI background task"),
    ("starlette.background.{BackgroundTask,BackgroundTasks().add_task}", 0, "func", "background", "Starlette background task"),
    ("rq.Queue().{enqueue,enqueue_call,enqueue_at,enqueue_in}", 0, "f", "background", "RQ job"),
    ("threading.Thread", -1, "target", "background", "background thread"),
    ("multiprocessing.Process", -1, "target", "background", "background process"),
    # Schedulers
    ("schedule.every().*do", 0, "job_func", "scheduled", "schedule job"),
    ("schedule.every().*.do", 0, "job_func", "scheduled", "schedule job"),
    ("apscheduler.*().add_job", 0, "func", "scheduled", "APScheduler job"),
    ("airflow.operators.python.{PythonOperator,BranchPythonOperator,ShortCircuitOperator}", -1, "python_callable", "scheduled", "Airflow PythonOperator"),
    ("airflow.operators.python_operator.PythonOperator", -1, "python_callable", "scheduled", "Airflow PythonOperator"),
    ("airflow.providers.standard.operators.python.PythonOperator", -1, "python_callable", "scheduled", "Airflow PythonOperator"),
    # Fan-out: the function runs once per item, in parallel (a call edge, not an entry point).
    ("concurrent.futures.*Executor().map", 0, "fn", "", "executor"),
    ("multiprocessing.*Pool().{map,imap,imap_unordered,starmap,map_async}", 0, "func", "", "process pool"),
    # Runners: the function runs once on another thread ("submit": a plain call edge, or a
    # fan-out edge when the submit itself runs once per item of a loop).
    ("concurrent.futures.*Executor().submit", 0, "fn", "submit", "executor"),
    ("multiprocessing.*Pool().apply_async", 0, "func", "submit", "process pool"),
    ("asyncio.to_thread", 0, "func", "submit", "thread"),
    ("anyio.to_thread.run_sync", 0, "func", "submit", "thread"),
    ("{starlette,fastapi}.concurrency.run_in_threadpool", 0, "func", "submit", "thread pool"),
    ("*.run_in_executor", 1, "func", "submit", "executor"),
    # Plain calls through a wrapper.
    ("asgiref.sync.{async_to_sync,sync_to_async}", 0, "", "call", "asgiref wrapper"),
    ("functools.partial", 0, "func", "call", "partial"),
    ("argparse.ArgumentParser().*set_defaults", -1, "func", "call", "argparse subcommand"),
)

# What makes a subcommand's parser (`sub.add_parser("describe")`, argparse): a handler set on
# it (`set_defaults(func=...)`) runs only when the command line names that subcommand.
SUBCOMMAND_PARSER = "add_parser"

# Registrations that start a function on its own thread or process: the caller does not wait
# on it, unless the caller answers a person who keeps waiting for the result (a GUI callback
# starting a worker thread so the window stays responsive, a bot acknowledging first).
DETACHED_STARTS: Tuple[str, ...] = ("threading.Thread", "multiprocessing.Process")
# A subclass of one of them runs its own body when started (`Worker(job).start()` runs
# `Worker.run` on its thread), as `Thread(target=job)` runs its target: (start, body) methods.
STARTED_BODY: Tuple[str, str] = ("start", "run")
# What each of them is called where it starts a function ("background thread"), from its row above.
STARTED_NAMES: Dict[str, str] = {path: name for path, _, _, _, name in REGISTRATIONS if path in DETACHED_STARTS}
# Calls that start a coroutine as a task of its own (`asyncio.create_task(notify(user))`): when
# the task is dropped (the call is a statement of its own), nobody awaits it, and the coroutine
# runs as background work. A task group's `create_task` is awaited where its block ends.
TASK_STARTS: Tuple[str, ...] = (
    "asyncio.{create_task,ensure_future}",
    "asyncio.{get_event_loop,get_running_loop,new_event_loop}().create_task",
)
PERSON_WAITS_ACROSS_THREADS: FrozenSet[str] = frozenset({"interactive_ui", "interactive_cli", "bot_handler"})

# Calls that read a person's input at a terminal: a loop around one is an interactive session.
INPUT_FUNCTIONS: Tuple[str, ...] = (
    "input",
    "click.prompt",
    "typer.prompt",
    "rich.prompt.Prompt.ask",
    "rich.prompt.Confirm.ask",
    "prompt_toolkit.prompt",
    "prompt_toolkit.PromptSession().prompt",
    "questionary.*",
    "getpass.getpass",
    "speech_recognition.Recognizer().recognize_*",  # what a person just said into the microphone
)

# Modules whose import makes a script's top level an interactive page.
UI_SCRIPT_MODULES: Tuple[str, ...] = ("streamlit",)

# Names of serverless handlers: `def handler(event, context)`.
SERVERLESS_HANDLERS: FrozenSet[str] = frozenset({"lambda_handler", "handler", "main_handler"})

# Celery beat / periodic registration helpers.
PERIODIC_TASK_METHODS: FrozenSet[str] = frozenset({"add_periodic_task"})

# A test module that uses these fakes the API: its tests are not pre-merge callers of it.
MOCK_MODULES: FrozenSet[str] = frozenset({"mock", "pytest_mock", "respx", "responses", "vcr", "pytest_httpx"})
MOCK_FIXTURES: FrozenSet[str] = frozenset({"mocker", "monkeypatch", "respx_mock", "httpx_mock"})
