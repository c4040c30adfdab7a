"""Serverless platforms as data: which event of a deployed function means who waits on it.

Read by `whowaits.manifests.serverless`; adding an event type is adding a row here.
"""

from __future__ import annotations

from typing import Dict

# Event names (Serverless Framework) and types (SAM, Azure bindings) -> context kind.
SERVERLESS_EVENTS: Dict[str, str] = {
    "http": "http_handler", "httpApi": "http_handler", "websocket": "http_handler", "alb": "http_handler",
    "cloudFront": "http_handler", "alexaSkill": "bot_handler", "alexaSmartHome": "bot_handler",
    "schedule": "scheduled",
    "sqs": "background", "sns": "background", "s3": "background", "stream": "background",
    "kafka": "background", "msk": "background", "activemq": "background", "rabbitmq": "background",
    "eventBridge": "background", "cloudwatchEvent": "background", "cloudwatchLog": "background",
    "cognitoUserPool": "background", "iot": "background", "iotFleetProvisioning": "background",
}
SAM_EVENTS: Dict[str, str] = {
    "Api": "http_handler", "HttpApi": "http_handler", "AlexaSkill": "bot_handler",
    "Schedule": "scheduled", "ScheduleV2": "scheduled",
    "SQS": "background", "SNS": "background", "S3": "background", "Kinesis": "background",
    "DynamoDB": "background", "MSK": "background", "MQ": "background", "SelfManagedKafka": "background",
    "EventBridgeRule": "background", "CloudWatchEvent": "background", "CloudWatchLogs": "background",
    "IoTRule": "background", "Cognito": "background", "DocumentDB": "background",
}
AZURE_TRIGGERS: Dict[str, str] = {
    "httpTrigger": "http_handler", "timerTrigger": "scheduled",
    "queueTrigger": "background", "blobTrigger": "background", "serviceBusTrigger": "background",
    "eventHubTrigger": "background", "eventGridTrigger": "background", "cosmosDBTrigger": "background",
    "kafkaTrigger": "background", "rabbitMQTrigger": "background",
}
GCLOUD_TRIGGERS: Dict[str, str] = {
    "--trigger-http": "http_handler", "--trigger-topic": "background", "--trigger-bucket": "background",
    "--trigger-event": "background", "--trigger-event-filters": "background",
}
