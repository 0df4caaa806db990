"""The node's side of collection: one pipeline (``hub.collection.ingest`` → new dataset version) reached by
``passerelle publish``, the drop folder and the upload page. See docs/collection.md §5."""

from connector.collection.dropfolder import DropFolderWatcher, process_drop_folder, process_drop_folders
from connector.collection.pipeline import (CollectionRefused, Submission, collect, publish_collected,
                                           quarantine_report, quarantine_reports, submissions)
from connector.collection.settings import (COLLECTION_KEYS, CollectionSettings, DatasetPaths, check_dataset_id,
                                           collected_datasets, dataset_paths, magic_suffix, settings_for,
                                           take_settings)

__all__ = ["DropFolderWatcher", "process_drop_folder", "process_drop_folders", "CollectionRefused", "Submission",
           "collect", "publish_collected", "quarantine_report", "quarantine_reports", "submissions",
           "COLLECTION_KEYS", "CollectionSettings", "DatasetPaths", "check_dataset_id", "collected_datasets",
           "dataset_paths", "magic_suffix", "settings_for", "take_settings"]
